"""The JSON API for partner apps under ``/api/v1`` (see the design notes' api.md); its resources come next."""
