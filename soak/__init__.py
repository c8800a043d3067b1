"""`make soak`: races, idempotency and fault injection against real servers (see README.md)."""
