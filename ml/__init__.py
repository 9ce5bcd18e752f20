"""Models and image operations: plain Python, no Flask imports."""
