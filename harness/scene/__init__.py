"""scene: see docs/architecture.md."""
