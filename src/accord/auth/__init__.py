"""Accounts: users, roles and permissions, sessions, API tokens, login throttling."""
