"""Persistence: the connection, the tables, migrations, the bulk writer, files on disk."""
