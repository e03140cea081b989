"""Find and Manage Users: the one search engine."""
