"""Image tools (the ashim set): a registry of tool modules; see ``app.tools.base``."""
