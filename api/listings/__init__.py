"""The API's listings resource."""
