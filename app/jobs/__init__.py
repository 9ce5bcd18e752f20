"""Background work: the SQLite job queue, its handlers, and the worker processes."""
