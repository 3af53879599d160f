"""Credbot: create and keep Paddle integration credentials from Slack."""

__version__ = "0.1.0"
