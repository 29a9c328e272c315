"""Pure value types of the pipeline: contracts, events, money, trading days (no I/O)."""
