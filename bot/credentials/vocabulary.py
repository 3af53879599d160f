"""The product's names for what a person sees (docs/words.md): one name for the thing, one for creating it.

Every Slack view and message, the CLI's help and the README use these; tests hold them to it.
"""

# The thing, as the billing platform's web console names it: a proper name, both words capitalised.
CREDENTIAL = "Integration Credential"
CREDENTIALS = "Integration Credentials"
# Creating one: the words of /create-credential, and short enough for a modal's title and submit (24 characters).
CREATE = "Create credential"
