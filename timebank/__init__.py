"""Timebank: a time bank where neighbours exchange help paid in time.

The application around the ``ledger`` package: configuration, the app factory, the web front, the command line
and the database migrations.
"""
