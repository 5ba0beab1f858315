"""The API's communities resource."""
