"""Search: the query language (``parser``), its SQL (``compiler``) and the one entry
point every grid, the API and the CLI use (``engine.run_search``)."""
