"""The Ed25519 key that signs checkpoints. It lives in a file (AUDIT_SIGNING_KEY), never in the
database, so database credentials alone cannot forge a checkpoint; auditors get the public key."""

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def create_signing_key(path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created readable by its owner only, and never overwritten (O_EXCL): a second process that
    # races here reads the first one's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def signing_key() -> Ed25519PrivateKey:
    path = Path(settings.AUDIT_SIGNING_KEY)
    if not path.exists() and settings.AUDIT_SIGNING_KEY_CREATE:
        create_signing_key(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"AUDIT_SIGNING_KEY: no key at {path} (create one with "
            "`python manage.py audit_public_key --create`)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY must hold an Ed25519 private key")
    return key


def public_key() -> Ed25519PublicKey:
    """The key checkpoints are verified with: AUDIT_PUBLIC_KEY when given (a verifier that holds
    no signing key), else the signing key's own."""
    if settings.AUDIT_PUBLIC_KEY:
        return load_public_key(Path(settings.AUDIT_PUBLIC_KEY).read_bytes())
    return signing_key().public_key()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured("the audit public key must be an Ed25519 key")
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()
