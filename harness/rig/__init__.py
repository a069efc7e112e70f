"""rig: see docs/architecture.md."""
