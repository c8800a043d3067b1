"""The floor: the cheapest request the stack can answer. Same middleware, token authentication,
permission and throttling as every API view, and one `SELECT 1`."""

from django.db import connection
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class FloorView(APIView):
    def get(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            (one,) = cursor.fetchone()
        return Response({"ok": one == 1})
