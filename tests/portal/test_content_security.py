"""The strict Content Security Policy holds only if no template carries inline script or style: check every one,
and check the header the portal sends."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "templates").rglob("*.html"))
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script> (put JavaScript in static/js/)"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute (put CSS in static/css/portal.css)"),
    (re.compile(r"<style[\s>]", re.I), "a <style> element"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on…= event handler attribute"),
    (re.compile(r"\shx-on", re.I), "an hx-on attribute (inline JavaScript)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_there_are_templates_to_check():
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_no_template_has_inline_script_or_style(path):
    text = path.read_text()
    found = [
        f"line {text[: m.start()].count(chr(10)) + 1}: {what}"
        for pattern, what in INLINE
        for m in pattern.finditer(text)
    ]
    assert not found, f"{path.name} breaks the strict CSP: " + "; ".join(found)


@pytest.mark.django_db
def test_pages_send_a_strict_content_security_policy(admin_client):
    response = admin_client.get(reverse("provisioning:calling_pstn"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
