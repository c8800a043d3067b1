"""Pagination: `{"next", "previous", "results"}`; `?page_size=` up to 200."""

from collections import OrderedDict
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

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
        raw = request.query_params.get(self.page_query_param, "1")
        self.number = int(raw) if raw.isdigit() and 0 < int(raw) < 10**6 else 1
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


class AuditCursorPagination(CursorPagination):
    """The audit trail grows without end: a cursor on `seq` keeps deep pages cheap and stable."""

    ordering = "seq"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
