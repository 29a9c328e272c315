"""Routers: public (read), risk, trader, admin; a broker may add its own (see app.py)."""
