"""Sets of users and the bulk jobs run on them (issue 23)."""
