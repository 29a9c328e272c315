"""Routers: public (read), sim (simulator only); more are attached in app.py."""
