"""Fines and fees: the actions on a fee, the tab's balances, money."""
