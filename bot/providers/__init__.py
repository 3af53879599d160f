"""Adapters to the services credentials are for: each implements a port of the core."""
