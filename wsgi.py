"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from timebank.app import create_app

app = create_app()
