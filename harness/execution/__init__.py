"""execution: see docs/architecture.md."""
