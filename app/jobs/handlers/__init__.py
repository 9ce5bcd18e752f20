"""Built-in job kinds: no-op (benchmarks, health checks) and maintenance."""

from app.jobs.handlers import basic, maintenance

__all__ = ["basic", "maintenance"]
