"""The core: credentials, their catalog, encryption and storage. No Slack imports here."""
