"""Domain errors. Interfaces map them in one place: NotAllowed→403, InvalidTransition→409 (with
its code), VersionMismatch→412, InvalidInput→400."""

from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotAllowed(DomainError):
    """The caller's role or segregation of duties forbids the action."""

    code = "not_allowed"


class InvalidTransition(DomainError):
    """The action is not possible in the change's current state (or it lost a race)."""

    code = "invalid_transition"


class StaleStep(InvalidTransition):
    """A decision for a step that is no longer open (decided, closed, superseded), or a second
    decision by the same person on one step: a stale tab, a retry, a double click."""

    code = "stale_step"


class OutsideWindow(InvalidTransition):
    """`start` outside the approved implementation window."""

    code = "outside_window"


class VersionMismatch(DomainError):
    """The caller acted on a version of the change that has since moved on (If-Match)."""

    code = "version_mismatch"

    def __init__(self, message: str, *, version: int) -> None:
        super().__init__(message, version=version)
        self.version = version


class InvalidInput(DomainError):
    """The input is malformed or incomplete; `errors` maps fields to messages."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]] | str) -> None:
        if isinstance(errors, str):
            errors = {"detail": [errors]}
        self.errors = errors
        first = next(iter(errors.values()))[0] if errors else "Invalid input."
        super().__init__(str(first))


class NotFound(DomainError):
    """No such object, or not visible to the caller."""

    code = "not_found"
