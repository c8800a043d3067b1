"""API tokens: exchange a password for one, list and revoke your own, sign a token out.

The token endpoint is guarded by the sign-in lockout (django-axes): after AXES_FAILURE_LIMIT
wrong passwords for one account from one address it answers 429 until the cool-off ends."""

from typing import Any

from django.contrib.auth import authenticate, user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from approvals.access.models import ApiToken
from approvals.access.tokens import token_issue, token_revoke, tokens_of
from approvals.api.docs import errors
from approvals.api.serializers.reference import TokenRequestSerializer, TokenSerializer
from approvals.api.serializers.tokens import TokenInfoSerializer
from approvals.api.views.base import acting_user
from approvals.exceptions import NotFound
from approvals.identity.mfa import ENROL, VERIFY, mfa_step_after_sign_in, mfa_verify


@extend_schema(
    summary="Exchange a username and password for an API token",
    description="The token expires after `API_TOKEN_DAYS` days (30 by default). Asked for "
    "from a signed-in browser session, it is revoked when that session signs out. After 5 wrong "
    "passwords for one account from one address, sign-in is refused (429) for a cool-off period. "
    "An account with two-step sign-in also sends `otp`, a code from its authenticator.",
    request=TokenRequestSerializer,
    responses={200: TokenSerializer, **errors(400, 403)},
    auth=[],
)
class TokenView(APIView):
    """`POST /auth/token/` → `{"token": "..."}`; send it as `Authorization: Token <token>`."""

    # A browser session may ask too (its token then dies with the session), under CSRF.
    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]
    # DRF leaves credential endpoints unthrottled; password guessing must not be.
    throttle_classes = [AnonRateThrottle, UserRateThrottle]

    def post(self, request: Request) -> Response:
        credentials = TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        # The Django request, not DRF's: the lockout marks it, and its middleware answers 429.
        user = authenticate(
            request._request,
            username=credentials.validated_data["username"],
            password=credentials.validated_data["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}
            )
        _check_second_factor(user, credentials.validated_data.get("otp", ""))
        # A successful sign-in: clears the failure count and records the last login.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        signed_in = request.user.is_authenticated and request.user.pk == user.pk
        session_key = (request._request.session.session_key or "") if signed_in else ""
        return Response({"token": token_issue(user=user, session_key=session_key)})


def _check_second_factor(user: Any, otp: str) -> None:
    step = mfa_step_after_sign_in(user)
    if step == ENROL:
        raise serializers.ValidationError(
            {"otp": ["This account must set up two-step sign-in in the web pages first."]}
        )
    if step == VERIFY and not otp:
        raise serializers.ValidationError(
            {"otp": ["This account needs a code from its authenticator."]}
        )
    if step == VERIFY and not mfa_verify(user=user, code=otp):
        raise serializers.ValidationError({"otp": ["That code is not right."]})


def _current_token_id(request: Request) -> int | None:
    return request.auth.pk if isinstance(request.auth, ApiToken) else None


@extend_schema(summary="Your API tokens", responses={200: TokenInfoSerializer(many=True)})
class TokenListView(generics.ListAPIView):
    serializer_class = TokenInfoSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = None

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return ApiToken.objects.none()
        return tokens_of(user=acting_user(self.request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        current = _current_token_id(request)
        page = self.paginate_queryset(self.get_queryset())
        rows = [
            {
                "id": token.pk,
                "prefix": token.prefix,
                "created_at": token.created_at,
                "expires_at": token.expires_at,
                "last_used_at": token.last_used_at,
                "session_bound": bool(token.session_key),
                "current": token.pk == current,
            }
            for token in page or []
        ]
        return self.get_paginated_response(TokenInfoSerializer(rows, many=True).data)


@extend_schema(
    summary="Revoke one of your API tokens",
    responses={204: OpenApiResponse(description="Revoked."), **errors(403, 404)},
)
class TokenRevokeView(APIView):
    permission_classes = [IsAuthenticated]

    def delete(self, request: Request, token_id: int) -> Response:
        if not token_revoke(user=acting_user(request), token_id=token_id):
            raise NotFound("No such token.")
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    summary="Sign out the API token this request is made with",
    request=None,
    responses={204: OpenApiResponse(description="The token no longer works."), **errors(403)},
)
class TokenLogoutView(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        current = _current_token_id(request)
        if current is not None:
            token_revoke(user=acting_user(request), token_id=current)
        return Response(status=status.HTTP_204_NO_CONTENT)
