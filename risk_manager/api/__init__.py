"""The REST API (FastAPI): thin routers over the daemon's runtime."""
