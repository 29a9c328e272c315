"""A local stand-in for the ProjectX Gateway: the real REST and SignalR protocol on loopback."""
