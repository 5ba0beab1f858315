"""The web front for people: pages rendered on the server. Thin: each view calls one use case and renders it."""

from timebank.web.routes import blueprint

__all__ = ["blueprint"]
