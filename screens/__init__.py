"""Textual screens: one screen or modal per module."""
