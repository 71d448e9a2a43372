"""Accounts: users, passwords and administrators."""
