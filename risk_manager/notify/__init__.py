"""Notifications: bus alerts turned into Discord / Telegram / webhook messages, delivered off
the enforcement path with retries, rate limits and a durable queue for critical messages."""
