"""How much free text the system takes, and what it refuses in it: one home for the numbers and
the checks, used by the services (which enforce them for every interface) and by the forms and
serializers (which repeat the numbers so the schema and the HTML announce them).

Free text travels far: into audit data and snapshots, webhooks, e-mails and exports. So every
field has a ceiling, a title is one line (a line break would forge lines in e-mail bodies), and
control characters other than line breaks and tabs are refused everywhere (NUL included: some
databases cannot store it at all)."""

import re
import unicodedata

from django.utils.translation import gettext as _

from approvals.exceptions import InvalidInput

TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
PLAN_MAX = 10_000  # backout and test plans
NARRATIVE_MAX = 10_000  # goal, scope, expected impact
NOTE_MAX = 10_000  # comments, notes, reasons, decision comments, feedback
DELEGATION_REASON_MAX = 200  # stored in a column of that width
STATUS_REASON_MAX = 300  # why a catalogue template was retired or suspended

# Ceilings of a change's own text fields, by field name.
CHANGE_TEXT_MAX = {
    "title": TITLE_MAX,
    "description": DESCRIPTION_MAX,
    "goal": NARRATIVE_MAX,
    "scope": NARRATIVE_MAX,
    "expected_impact": NARRATIVE_MAX,
    "backout_plan": PLAN_MAX,
    "test_plan": PLAN_MAX,
}

# Every C0 and C1 control character and DEL except tab and line feed, and lone surrogates
# (text that cannot be encoded). Carriage returns are gone by then: browsers send CRLF line breaks,
# which are stored as LF.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# What may not appear in a one-line text: every line boundary Python (and many mail clients)
# recognise, CR being gone already, and the tab.
_LINE_BREAK = re.compile(r"[\n\t\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def normalise(value: str) -> str:
    """Line breaks as LF (a textarea posts CRLF), surrounding blanks removed."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def text_problem(value: str, *, limit: int, one_line: bool = False) -> str | None:
    """What is wrong with an already normalised text, in words; None when nothing is."""
    if len(value) > limit:
        return _("At most %(limit)s characters (this has %(length)s).") % {
            "limit": f"{limit:,}",
            "length": f"{len(value):,}",
        }
    if one_line and _LINE_BREAK.search(value):
        return _("Keep it to one line, without line breaks or tabs.")
    found = _CONTROL.search(value)
    if found:
        return _("Control characters are not allowed (found %(char)s).") % {
            "char": _describe(found.group())
        }
    return None


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    return f"{code} {name}" if name else code


def clean_text(
    value: object,
    *,
    field: str,
    limit: int,
    required: bool = False,
    one_line: bool = False,
    required_message: str | None = None,
) -> str:
    """The text as stored (normalised), or InvalidInput naming `field`. None counts as empty."""
    text, problem = checked_text(
        value, limit=limit, required=required, one_line=one_line, required_message=required_message
    )
    if problem is not None:
        raise InvalidInput({field: [problem]})
    return text


def checked_text(
    value: object,
    *,
    limit: int,
    required: bool = False,
    one_line: bool = False,
    required_message: str | None = None,
) -> tuple[str, str | None]:
    """The normalised text and what is wrong with it in words (None: nothing), for callers that
    gather every problem of a form at once."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "", _("Must be text.")
    text = normalise(value)
    if required and not text:
        return text, required_message or _("This field is required.")
    return text, text_problem(text, limit=limit, one_line=one_line)


PAGE_NUMBER_MAX = 10**6 - 1


def page_number(raw: str | None) -> int:
    """A `?page=` number as asked for, or the first page for anything else (not a number, zero,
    or beyond any list)."""
    raw = raw or ""
    return int(raw) if raw.isdigit() and 0 < int(raw) <= PAGE_NUMBER_MAX else 1
