"""Who may do what: logging in, passwords, permissions, library scope, the session."""
