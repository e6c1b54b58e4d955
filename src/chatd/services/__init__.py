"""Use cases shared by HTTP, WebSocket and the CLI: the rules and permissions live here."""
