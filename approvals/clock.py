"""The one clock that time-based work is decided by.

Web servers and workers run on several hosts whose clocks may drift or jump (a virtual machine
resumed, NTP stepping). Whether a reminder is due, whether a claim on an e-mail or a webhook is
stale and when a retry falls due are decided by the database's clock, which every process
shares: a worker an hour ahead neither reminds early nor takes over a live worker's claim.
On SQLite the database runs in the same process, so its clock is the process's.
"""

from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone


def database_now() -> datetime:
    """The current time on the database server (one query on PostgreSQL)."""
    if connection.vendor != "postgresql" or not settings.CLOCK_FROM_DATABASE:
        return timezone.now()
    with connection.cursor() as cursor:
        # clock_timestamp(), not now(): inside a long transaction now() is its start.
        cursor.execute("SELECT clock_timestamp()")
        (value,) = cursor.fetchone()
    return value
