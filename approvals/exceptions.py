"""Domain errors. Interfaces map them in one place: NotAllowed→403, InvalidTransition→409,
InvalidInput→400."""

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
