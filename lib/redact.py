"""Masking of secrets and truncation of payloads kept in logs and errors."""

from urllib.parse import quote

from .const import EXCERPT_LIMIT

MASK = "***"


def redact(text, secrets):
    """Return ``text`` with every occurrence of each secret replaced by ``***``.

    Each secret is also masked in its percent-encoded form (as it would appear
    in a URL). Empty secrets are ignored; ``None`` text stays ``None``.
    """
    if not text:
        return text
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, MASK)
    return text


def excerpt(text, limit=EXCERPT_LIMIT):
    """Return ``text`` cut to ``limit`` characters, saying how much was cut."""
    if text is None or len(text) <= limit:
        return text
    return "%s... [%d more characters]" % (text[:limit], len(text) - limit)
