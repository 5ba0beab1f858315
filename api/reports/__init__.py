"""The API's reports resource."""
