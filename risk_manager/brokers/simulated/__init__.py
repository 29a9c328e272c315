"""The embedded paper exchange: runs the whole pipeline with no credentials."""
