"""COPY writers built from the models themselves: each row comes from a model instance, so
defaults of columns the seeder does not set come from the model, and a column added later is
filled the way Django would fill it."""

import json
from collections.abc import Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models.fields.json import JSONField


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


class CopyTable:
    """Rows of one model, buffered for one batch and sent with `COPY … FROM STDIN`."""

    def __init__(self, model: type[models.Model], *, with_pk: bool = True) -> None:
        self.model = model
        fields = [
            f
            for f in model._meta.concrete_fields
            if with_pk or not f.primary_key  # the database numbers rows it is not given ids for
        ]
        self.attnames = [f.attname for f in fields]
        self.json = [isinstance(f, JSONField) for f in fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        self.sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0

    def add(self, instance: models.Model) -> None:
        values = []
        for attname, is_json in zip(self.attnames, self.json, strict=True):
            value = getattr(instance, attname)
            values.append(_json(value) if is_json else value)
        self.rows.append(tuple(values))

    def flush(self, cursor: Any) -> None:
        if not self.rows:
            return
        with cursor.copy(self.sql) as copy:
            for row in self.rows:
                copy.write_row(row)
        self.written += len(self.rows)
        self.rows.clear()


def flush_all(tables: Iterable[CopyTable]) -> None:
    """Send every buffered row, parents before children, in the caller's transaction."""
    with connection.cursor() as cursor:
        for table in tables:
            table.flush(cursor)
