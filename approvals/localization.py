"""The reader's language and time zone: which name of a bilingual record to show, and which zone
a person reads and types times in.

Configuration records carry an English name (the one the API, the audit trail and integrations
use) and an optional Simplified Chinese one in a `<field>_zh` column; readers of the Chinese
interface see the Chinese one when it is filled in, everyone else the English one.
"""

import zoneinfo
from datetime import tzinfo
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _


@cache
def time_zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})


def validate_time_zone(value: str) -> None:
    if value and value not in time_zone_names():
        raise ValidationError(_("“%(value)s” is not a time zone."), params={"value": value})


def zone_named(name: str) -> tzinfo:
    """The zone of that name, or the site's (settings.TIME_ZONE) when it is empty or unknown."""
    if name in time_zone_names():
        return zoneinfo.ZoneInfo(name)
    return timezone.get_default_timezone()


def language_of(code: str) -> str:
    """A person's language: theirs when set and offered, otherwise the site's."""
    offered = {language for language, _name in settings.LANGUAGES}
    return code if code in offered else settings.LANGUAGE_CODE


def reads_chinese(language: str | None = None) -> bool:
    return (language or translation.get_language() or "").lower().startswith("zh")


def localized(obj: Any, field: str = "name") -> str:
    """The record's `field` in the active language: `<field>_zh` for Chinese readers when it is
    filled in, the English value otherwise."""
    if obj is None:
        return ""
    english = getattr(obj, field, "") or ""
    if reads_chinese():
        return getattr(obj, f"{field}_zh", "") or english
    return english


def localized_value(english: str, chinese: str) -> str:
    """The same choice for two plain values (copies kept on a change or in event data)."""
    return (chinese or english) if reads_chinese() else english


class Bilingual(str):
    """An English name (what it is as a string: the API, the audit trail and the rules use it)
    that also carries its Chinese one, for messages written to a reader."""

    zh: str

    def __new__(cls, english: str, zh: str = "") -> "Bilingual":
        name = super().__new__(cls, english)
        name.zh = zh or ""
        return name

    def __reduce__(self) -> tuple:
        return (Bilingual, (str(self), self.zh))


def reader_name(name: str) -> str:
    """A name passed along by the rules, in the reader's language when it carries both."""
    return localized_value(str(name), name.zh) if isinstance(name, Bilingual) else name
