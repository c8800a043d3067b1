"""How people name things: one place for the formats that pages, API, e-mails and webhooks share."""

CHANGE_KEY_PREFIX = "CHG-"


def change_key(change_id: int | None) -> str:
    """A change's key: CHG-000042."""
    return f"{CHANGE_KEY_PREFIX}{change_id:06d}" if change_id else ""
