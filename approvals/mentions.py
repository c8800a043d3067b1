"""Who a comment mentions: `@username` in its text names a person, who is told when they may see
the change (need to know, `policy.can_view`), and never the author.

The people told are resolved when the comment is recorded and kept in its audit event
(`mentions`, `mentioned_ids`), so whoever reads the event later — the notifications consumer on a
replay included — finds the same people, whatever accounts are renamed or created meanwhile.
"""

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models.functions import Lower
from django.utils import timezone

from approvals.models import AuditEvent, ChangeRequest, Decision, Delegation, StepApprover
from approvals.policy import Actor, can_view

# Django's username characters (letters, digits and @.+-_). The @ must not follow one of them,
# so an e-mail address (bob@example.com) mentions nobody.
MENTION = re.compile(r"(?<![\w.@+-])@([\w.@+-]+)")
# Punctuation that ends a sentence rather than a name: "ask @hank." mentions hank.
TRAILING = ".@+-"
# Distinct names looked up per comment; a longer list is cut, not refused.
MENTIONS_MAX = 50


@dataclass(frozen=True)
class Person:
    """An active account as the need-to-know rule sees it."""

    id: int
    username: str
    roles: frozenset[str] = field(default_factory=frozenset)


def mentioned_names(text: str) -> list[str]:
    """The tokens after each `@` in `text` that may name someone, in order, each once."""
    names: list[str] = []
    for match in MENTION.finditer(text):
        token = match.group(1)
        if token.rstrip(TRAILING) and token not in names:
            names.append(token)
    return names[:MENTIONS_MAX]


def _people(accounts: Iterable[tuple[int, str, str | None]]) -> dict[int, Person]:
    roles: dict[int, set[str]] = defaultdict(set)
    names: dict[int, str] = {}
    for pk, username, role in accounts:
        names[pk] = username
        if role:
            roles[pk].add(role)
    return {pk: Person(pk, username, frozenset(roles[pk])) for pk, username in names.items()}


def people_named(names: Collection[str]) -> list[Person]:
    """The active accounts `names` mention, in the order first mentioned. A name matches its
    username exactly, or else case-insensitively when only one account has it so; without its
    trailing punctuation only when no account has the name as written."""
    if not names:
        return []
    lowered = {form.lower() for name in names for form in (name, name.rstrip(TRAILING))}
    accounts = (
        User.objects.filter(is_active=True)
        .annotate(lowered=Lower("username"))
        .filter(lowered__in=lowered)
        .values_list("pk", "username", "groups__name")
    )
    people = _people(accounts)
    by_lower: dict[str, list[Person]] = defaultdict(list)
    for person in people.values():
        by_lower[person.username.lower()].append(person)
    chosen: list[Person] = []
    for name in names:
        match = _match(name, by_lower)
        if match is not None and match not in chosen:
            chosen.append(match)
    return chosen


def _match(name: str, by_lower: Mapping[str, list[Person]]) -> Person | None:
    for candidate in (name, name.rstrip(TRAILING)):
        found = by_lower.get(candidate.lower(), [])
        exact = [p for p in found if p.username == candidate]
        if exact:
            return exact[0]
        if len(found) == 1:
            return found[0]
    return None


def people_with_ids(ids: Collection[int]) -> dict[int, Person]:
    """The active accounts among `ids`."""
    if not ids:
        return {}
    accounts = User.objects.filter(pk__in=ids, is_active=True).values_list(
        "pk", "username", "groups__name"
    )
    return _people(accounts)


def viewers(
    changes: Mapping[int, ChangeRequest],
    wanted: Mapping[int, Collection[int]],
    people: Mapping[int, Person],
    *,
    now: datetime | None = None,
) -> set[tuple[int, int]]:
    """(change id, person id) for each person in `wanted[change id]` who may see that change
    now: `policy.can_view` with their roles, their delegations in force and the change's route,
    in two queries whatever the number of changes and people."""
    asked = {pk for ids in wanted.values() for pk in ids if pk in people}
    if not asked:
        return set()
    now = now or timezone.now()
    delegators: dict[int, set[int]] = defaultdict(set)
    for delegate, delegator in Delegation.objects.filter(
        delegate_id__in=asked, starts_at__lte=now, ends_at__gt=now
    ).values_list("delegate_id", "delegator_id"):
        delegators[delegate].add(delegator)
    involved = _involved(wanted.keys())
    seen: set[tuple[int, int]] = set()
    for change_id, ids in wanted.items():
        change = changes.get(change_id)
        for pk in ids:
            person = people.get(pk)
            if change is None or person is None:
                continue
            actor = Actor(
                id=person.id,
                username=person.username,
                roles=person.roles,
                delegator_ids=frozenset(delegators[pk]),
            )
            if can_view(actor, change, involved[change_id]):
                seen.add((change_id, pk))
    return seen


def _involved(change_ids: Iterable[int]) -> dict[int, set[int]]:
    """Everyone named on each change's route in any round, and everyone who decided a step."""
    ids = list(change_ids)
    seats = StepApprover.objects.filter(step__change_id__in=ids).values_list(
        "step__change_id", "user_id"
    )
    deciders = Decision.objects.filter(step__change_id__in=ids).values_list(
        "step__change_id", "approver_id"
    )
    involved: dict[int, set[int]] = defaultdict(set)
    for change_id, user_id in seats.order_by().union(deciders.order_by()):
        involved[change_id].add(user_id)
    return involved


def people_told(*, change: ChangeRequest, author_id: int, text: str) -> list[Person]:
    """The people a new comment on `change` tells: mentioned, active, not its author, and
    allowed to see the change. No query when the text mentions nobody."""
    mentioned = [p for p in people_named(mentioned_names(text)) if p.id != author_id]
    if not mentioned:
        return []
    allowed = viewers(
        {change.pk: change}, {change.pk: [p.id for p in mentioned]}, _by_id(mentioned)
    )
    return [p for p in mentioned if (change.pk, p.id) in allowed]


def _by_id(people: Iterable[Person]) -> dict[int, Person]:
    return {person.id: person for person in people}


def recorded(comment_ids: Collection[int]) -> dict[int, list[str]]:
    """The usernames each comment told, as its audit event recorded them (none for comments
    recorded before mentions were)."""
    if not comment_ids:
        return {}
    events = AuditEvent.objects.filter(
        action="commented", data__comment__in=list(comment_ids)
    ).values_list("data", flat=True)
    return {data["comment"]: list(data.get("mentions", [])) for data in events}
