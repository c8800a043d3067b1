"""Database sessions that refuse malformed keys before they reach the database: a cookie is
anyone's input, and PostgreSQL text cannot hold a NUL byte."""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        # Keys this store issues are ASCII letters and digits (VALID_KEY_CHARS).
        return bool(key) and len(key or "") >= 8 and (key or "").isascii() and (key or "").isalnum()
