"""Where Slack's requests come in: the HTTP door (http_door) under gunicorn, Socket Mode, the OAuth routes
(runners); answering before the work an ack hands on starts (answer_first); reaching Slack at start-up (startup)."""
