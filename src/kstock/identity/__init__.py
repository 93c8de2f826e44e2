"""Users, tokens, API keys, tiers and roles."""
