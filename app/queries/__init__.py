"""Named query functions, one module per table. Views never hold SQL."""
