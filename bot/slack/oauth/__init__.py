"""OAuth mode: the install flow (Bolt's, wired to our pages and stores) and the sealed installation store."""
