"""The scaled topology: PostgreSQL, Redis, RabbitMQ and haproxy in front of N Rasa servers,
M action servers and K inbox processes (``make run-scaled``, docs/scaling.md)."""
