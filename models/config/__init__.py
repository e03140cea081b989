"""An organization's configuration, the installation's settings, set-up and seeding."""
