"""The TopstepX / ProjectX Gateway adapter: REST for reads and actions, SignalR hubs for events."""
