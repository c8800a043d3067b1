from django.contrib.auth.models import User
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.peer.services import process_decide


class ApproveView(APIView):
    """POST /peer/processes/<id>/approve/ — the peer's HTTP decision, token-authenticated."""

    def post(self, request: Request, process_id: int) -> Response:
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated lets no anonymous user through
        result = process_decide(
            actor=user, process_id=process_id, comment=request.data.get("comment", "")
        )
        return Response(result)
