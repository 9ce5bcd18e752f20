"""Accounts, sessions, API keys and the login rate limit."""
