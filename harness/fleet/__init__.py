"""fleet: acceptance of many units (lot sampling plans, switching rules); see docs/architecture.md."""
