"""Search. The simple box for now: words matched over the full-text index."""
