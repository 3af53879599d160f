"""Everything that speaks Slack: the Bolt app, servers, listeners, Block Kit builders."""
