"""The API's credentials resource."""
