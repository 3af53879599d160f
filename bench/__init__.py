import os

# The benchmarks measure the bot as an operator runs it: `python -m bot serve` started fresh, not forked from the
# tests' fork server (whose preloaded modules would change the server's memory and start-up).
os.environ.setdefault("CREDBOT_TEST_FORK", "0")
