"""Pagination: `{"next", "previous", "results"}`; `?page_size=` up to 200."""

import base64
import binascii
from collections import OrderedDict
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from approvals.limits import page_number

MAX_PAGE_SIZE = 200


class PagePagination(PageNumberPagination):
    """Numbered pages with a `count`, for reference data and small lists."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["next", "previous", "results"]
        return response


class LinkPagination(PageNumberPagination):
    """Numbered pages without a `count`: one query for the rows (page size + 1 tells whether a
    next page exists), so busy lists never pay for counting the whole table."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Any] | None:
        self.request = request
        size = self.get_page_size(request) or self.page_size or 50
        self.number = page_number(request.query_params.get(self.page_query_param))
        offset = (self.number - 1) * size
        rows = list(queryset[offset : offset + size + 1])
        self.has_next = len(rows) > size
        return rows[:size]

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        assert self.request is not None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number <= 1:
            return None
        assert self.request is not None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(
            OrderedDict(
                [
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        nullable_uri = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": nullable_uri, "previous": nullable_uri, "results": schema},
        }


class KeysetPagination(LinkPagination):
    """Pages of a list ordered by a timestamp (and the id, for ties) that grows without end:
    the `next` and `previous` links carry a cursor naming the last (first) row shown, and the
    page after it is read from the index from there, so page 1 000 costs what page 1 costs and
    a row added meanwhile neither repeats nor skips one. A `?page=` number is still honoured
    (read with an offset), for links made before."""

    cursor_query_param = "cursor"
    keyset_fields = ("created_at", "updated_at")

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Any] | None:
        self.request = request
        ordering = queryset.query.order_by
        first = ordering[0] if ordering and isinstance(ordering[0], str) else ""
        field = first.lstrip("-")
        if self.page_query_param in request.query_params or field not in self.keyset_fields:
            self.cursor_mode = False
            return super().paginate_queryset(queryset, request, view)
        self.cursor_mode = True
        self.field = field
        self.descending = first.startswith("-")
        size = self.get_page_size(request) or self.page_size or 50
        raw = request.query_params.get(self.cursor_query_param)
        backwards, position = self._decode(raw) if raw else (False, None)
        # Reading backwards: the other way along the index, then turned round.
        descending = self.descending != backwards
        sign = "-" if descending else ""
        queryset = queryset.order_by(f"{sign}{field}", f"{sign}pk")
        if position is not None:
            value, pk = position
            beyond, bound = ("lt", "lte") if descending else ("gt", "gte")
            queryset = queryset.filter(**{f"{field}__{bound}": value}).filter(
                Q(**{f"{field}__{beyond}": value}) | Q(**{field: value, f"pk__{beyond}": pk})
            )
        rows = list(queryset[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if backwards:
            rows.reverse()
        self.rows = rows
        self.has_next = bool(rows) and (more if not backwards else True)
        self.has_previous = bool(rows) and (position is not None if not backwards else more)
        return rows

    def _decode(self, raw: str) -> tuple[bool, tuple[datetime, int]]:
        try:
            padded = raw + "=" * (-len(raw) % 4)
            direction, stamp, pk = base64.urlsafe_b64decode(padded).decode().split("|")
            position = (datetime.fromisoformat(stamp), int(pk))
            if direction not in ("n", "p") or position[0].tzinfo is None:
                raise ValueError(direction)
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise ValidationError(
                {self.cursor_query_param: [_("This cursor is not one the list gave out.")]},
                code="invalid_cursor",
            ) from None
        return direction == "p", position

    def _link(self, row: Any, direction: str) -> str:
        assert self.request is not None
        stamp = getattr(row, self.field).isoformat()
        token = base64.urlsafe_b64encode(f"{direction}|{stamp}|{row.pk}".encode()).decode()
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, token.rstrip("="))

    def get_next_link(self) -> str | None:
        if not self.cursor_mode:
            return super().get_next_link()
        return self._link(self.rows[-1], "n") if self.has_next else None

    def get_previous_link(self) -> str | None:
        if not self.cursor_mode:
            return super().get_previous_link()
        return self._link(self.rows[0], "p") if self.has_previous else None


class AuditCursorPagination(CursorPagination):
    """The audit trail grows without end: a cursor on `seq` keeps deep pages cheap and stable."""

    ordering = "seq"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
