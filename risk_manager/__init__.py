"""Risk Manager Daemon: real-time risk rules for futures trading accounts."""

__version__ = "0.1.0"

# The built-in broker kinds register their `[broker]` settings here, so that a config names
# them wherever it is validated (daemon, reload, the admin CLI's offline check).
from risk_manager import brokers as brokers
