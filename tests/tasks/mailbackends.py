from django.core.mail.backends.base import BaseEmailBackend


class DownBackend(BaseEmailBackend):
    """An SMTP server that refuses connections."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server unreachable")
