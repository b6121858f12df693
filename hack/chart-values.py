#!/usr/bin/env python3
"""Write the values table of charts/watchkeeper/README.md from the `# --` comments of
charts/watchkeeper/values.yaml (between the values-table markers).

Usage: hack/chart-values.py          rewrite the README
       hack/chart-values.py --check  exit 1 when the README is not what this would write
Every value must be documented (on itself, an ancestor or a descendant).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parent.parent / "charts" / "watchkeeper"
VALUES = CHART / "values.yaml"
README = CHART / "README.md"
BEGIN, END = "<!-- values-table:begin -->", "<!-- values-table:end -->"
DOC_START = re.compile(r"^\s*# -- (.*)$")
DOC_MORE = re.compile(r"^\s*#\s?(.*)$")
KEY = re.compile(r"^( *)([A-Za-z][A-Za-z0-9_]*):")


def documented(text: str) -> dict[str, str]:
    """Value path -> its description, in file order."""
    docs: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    for line in text.splitlines():
        if start := DOC_START.match(line):
            pending = [start.group(1)]
        elif pending is not None and (more := DOC_MORE.match(line)):
            pending.append(more.group(1))
        elif key := KEY.match(line):
            indent = len(key.group(1))
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, key.group(2)))
            if pending is not None:
                docs[".".join(k for _, k in stack)] = " ".join(pending)
            pending = None
        elif not line.strip():
            pending = None
    return docs


def paths(values: Any, prefix: str = "") -> list[str]:
    if not isinstance(values, dict):
        return []
    out = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        out += [path, *paths(value, f"{path}.")]
    return out


def lookup(values: Any, path: str) -> Any:
    for key in path.split("."):
        values = values[key]
    return values


def table() -> str:
    text = VALUES.read_text()
    values = yaml.safe_load(text)
    docs = documented(text)
    undocumented = [
        p
        for p in paths(values)
        if not any(d == p or p.startswith(f"{d}.") or d.startswith(f"{p}.") for d in docs)
    ]
    if undocumented:
        raise SystemExit(f"chart-values: document these in values.yaml: {undocumented}")
    rows = ["| value | default | meaning |", "|---|---|---|"]
    for path, description in docs.items():
        default = json.dumps(lookup(values, path), separators=(", ", ": "))
        rows.append(f"| `{path}` | `{default}` | {description.replace('|', '/')} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    readme = README.read_text()
    before, rest = readme.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    wanted = f"{before}{BEGIN}\n{table()}\n{END}{after}"
    if "--check" in argv:
        if wanted != readme:
            print("chart-values: charts/watchkeeper/README.md is stale: run hack/chart-values.py")
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
