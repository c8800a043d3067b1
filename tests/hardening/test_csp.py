"""A strict Content-Security-Policy: no inline script or style anywhere, htmx configured for it,
and htmx's CSRF header still accepted."""

import re
from pathlib import Path

from django.conf import settings
from django.test import Client

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def test_pages_send_a_policy_without_unsafe_inline(demo, alice):
    client = Client()
    client.force_login(alice)
    for path in ("/", "/changes/", "/accounts/login/", "/api/docs/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy


def test_no_page_template_has_inline_script_or_style():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if "emails" in path.parts:
            continue  # e-mail bodies are not served under the policy
        text = path.read_text()
        if INLINE_SCRIPT.search(text) or INLINE_STYLE.search(text):
            offenders.append(str(path.relative_to(TEMPLATES)))
    assert offenders == []


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code(demo, alice):
    client = Client()
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert '"includeIndicatorStyles":false' in page
    assert '"allowEval":false' in page


def test_htmx_requests_pass_csrf_with_the_header_from_the_body(demo, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get("/").content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    refused = client.post("/i18n/setlang/", {"language": "en"})
    assert refused.status_code == 403
    accepted = client.post(
        "/i18n/setlang/", {"language": "en"}, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true"
    )
    assert accepted.status_code in (200, 204, 302)
