"""PatronDesk's domain: tables, rules and services. Imports nothing from Textual."""
