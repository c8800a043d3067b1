"""One statement counter for every figure: our services, our API and the viewflow peer are
counted by the same wrapper around Django's database cursor."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections


class StatementCounter:
    """Counts every SQL statement sent through Django's connection (savepoints included)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def counting(alias: str = "default") -> Iterator[StatementCounter]:
    counter = StatementCounter()
    with connections[alias].execute_wrapper(counter):
        yield counter
