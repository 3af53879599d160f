"""Block Kit builders: plain values in, slack-sdk models out. No I/O."""
