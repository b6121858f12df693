"""Kubernetes object names derived from test names."""

import re
import secrets

DNS_LABEL_MAX = 63
SUFFIX_LENGTH = 5


def namespace_name(test_name: str) -> str:
    """A DNS-1123 label: ``test_name`` lowercased and cut to fit, plus a random suffix."""
    base = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")
    base = base[: DNS_LABEL_MAX - SUFFIX_LENGTH - 1].rstrip("-") or "test"
    return f"{base}-{secrets.token_hex(SUFFIX_LENGTH)[:SUFFIX_LENGTH]}"
