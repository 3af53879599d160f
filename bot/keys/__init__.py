"""Where encryption keys come from: the local key ring (settings or the generated key file). Implements the
core's KeyRing for the wiring; the core never reads settings or files."""
