"""The API's members resource."""
