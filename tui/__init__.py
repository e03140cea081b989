"""PatronDesk's entry point, app, settings and paths. Importing this package loads no UI."""

__version__ = "0.1.0"
