"""Results of a run: the run record (record.json) and its presentations."""
