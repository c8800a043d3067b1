from rest_framework import serializers


class TokenInfoSerializer(serializers.Serializer):
    """One of the caller's API tokens: never the token itself, which is not stored."""

    id = serializers.IntegerField()
    prefix = serializers.CharField(help_text="The token's first characters.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="Accurate to a few minutes."
    )
    session_bound = serializers.BooleanField(
        help_text="Issued in a signed-in browser session; revoked when that session signs out."
    )
    current = serializers.BooleanField(help_text="The token this request was made with.")
