"""Letters to users and their delivery over SMTP."""
