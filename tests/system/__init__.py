"""System tests: the whole service under load, faults and attack, with real gunicorn and PostgreSQL."""
