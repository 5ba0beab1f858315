"""The API's exchanges resource."""
