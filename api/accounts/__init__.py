"""The API's accounts resource."""
