"""The body of a server-side apply, and what the API server says when it refuses one.

An apply body is YAML (`application/apply-patch+yaml`). JSON is YAML, so the body is
JSON, but not the JSON `json.dumps` writes by default: its `\\ud83d\\udd25` escapes
(a character outside the Basic Multilingual Plane, as a UTF-16 surrogate pair) are refused
by the API server's YAML parser ("invalid Unicode character escape code"), with HTTP 400.
Here every character is written as itself (UTF-8), except those YAML may not carry raw
(controls, U+FFFE/U+FFFF) or would read as a line break (U+0085, U+2028, U+2029), which are
escaped as `\\uXXXX` — always in the Basic Multilingual Plane, so always accepted. A key
longer than YAML's 1024-character limit on implicit keys is written as an explicit key
(`? "key": value`), which YAML reads the same way."""

from __future__ import annotations

import json
import re
from typing import Any

from kubernetes.client.exceptions import ApiException

from watchkeeper.kube.calls import KubeError, KubeRejected, typed

APPLY_PATCH = "application/apply-patch+yaml"
SERVER_MESSAGE_LIMIT = 300
IMPLICIT_KEY_LIMIT = 1000
"""Characters of an encoded key beyond which it is written as an explicit key (YAML: 1024)."""

_NOT_RAW = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\x85\u2028\u2029]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    # a lone surrogate has no UTF-8 form and no YAML escape: it can only be replaced
    return "\\ufffd" if 0xD800 <= code <= 0xDFFF else f"\\u{code:04x}"


def _flow(value: Any) -> str:
    """JSON, except that a very long key is marked as an explicit YAML key."""
    if isinstance(value, dict):
        entries = []
        for key, item in value.items():
            text = json.dumps(str(key), ensure_ascii=False)
            explicit = "? " if len(text) > IMPLICIT_KEY_LIMIT else ""
            entries.append(f"{explicit}{text}: {_flow(item)}")
        return "{" + ", ".join(entries) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def apply_patch_body(body: dict[str, Any]) -> bytes:
    """`body` as an apply patch the API server takes, whatever strings it holds."""
    return _NOT_RAW.sub(_escape, _flow(body)).encode()


def with_server_message(error: ApiException) -> KubeError:
    """The typed error, with the API server's explanation when it refused the request."""
    typed_error = typed(error)
    if not isinstance(typed_error, KubeRejected):
        return typed_error
    try:
        message = str(json.loads(error.body or "{}").get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    if not message:
        return typed_error
    if len(message) > SERVER_MESSAGE_LIMIT:
        message = message[: SERVER_MESSAGE_LIMIT - 1] + "…"
    return KubeRejected(f"{typed_error}: {message}", typed_error.status)
