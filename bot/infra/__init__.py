"""Infrastructure: settings, database, logs, metrics, the secret wrapper."""
