"""Keeps passwords out of everything gate prints or writes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

MASK = "***"
# Below this length a piece of a secret is too common a string to mask on its own.
MIN_PIECE = 4
_ELLIPSES = ("...", "…")

# scheme://user:password@host  ->  scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)(?P<pw>[^@\s/]*)@")


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    return _URL_PASSWORD.sub(
        lambda m: f"{m.group('prefix')}{MASK}@" if m.group("pw") else m[0], url
    )


def url_secrets(url: str) -> list[str]:
    """The password a server URL carries, also when the URL is malformed; [] when none.

    Masking the whole URL would hide what was wrong with a URL that holds no password."""
    userinfo = url.partition("://")[2].rpartition("@")[0] if "://" in url else ""
    if not userinfo:
        userinfo = url.rpartition("@")[0]
    _, colon, password = userinfo.partition(":")
    return [password] if colon and password else []


def _forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as written and as it appears percent-encoded inside a URL."""
    forms = set()
    for secret in secrets:
        if len(secret) >= 3:
            forms.add(secret)
            forms.add(quote(secret, safe=""))
    return sorted(forms, key=len, reverse=True)


def _mask_truncated(text: str, secret: str) -> str:
    """pytest shortens long values with an ellipsis: '…unter2Secret', 'Hunter2Se...'.
    A head or tail of the secret that touches an ellipsis is masked too."""
    for size in range(len(secret) - 1, MIN_PIECE - 1, -1):
        head, tail = secret[:size], secret[-size:]
        for ellipsis in _ELLIPSES:
            text = text.replace(head + ellipsis, MASK + ellipsis)
            text = text.replace(ellipsis + tail, ellipsis + MASK)
    return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask URL passwords and every known secret value in free text (command output, errors)."""
    if not text:
        return text  # most texts of a run: a passing test has no message and no output
    text = mask_url(text)
    forms = _forms(secrets)
    for secret in forms:
        text = text.replace(secret, MASK)
    if any(ellipsis in text for ellipsis in _ELLIPSES):
        for secret in forms:
            text = _mask_truncated(text, secret)
    return text


def redact_tree(value: Any, hide: Callable[[str], str]) -> Any:
    """Every string inside JSON-like data (dicts, lists, tuples) passed through `hide`."""
    if isinstance(value, str):
        return hide(value)
    if isinstance(value, dict):
        return {key: redact_tree(item, hide) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_tree(item, hide) for item in value)
    return value
