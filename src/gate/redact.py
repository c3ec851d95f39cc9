"""Keeps passwords out of everything gate prints or writes."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

# scheme://user:password@host  ->  scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)(?P<pw>[^@\s/]*)@")


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    return _URL_PASSWORD.sub(
        lambda m: f"{m.group('prefix')}{MASK}@" if m.group("pw") else m[0], url
    )


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask URL passwords and every known secret value in free text (command output, errors)."""
    text = mask_url(text)
    for secret in sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
