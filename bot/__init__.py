"""Credbot: create and keep Paddle Integration Credentials from Slack."""

__version__ = "0.1.0"
