"""Where the operator's CPU goes during a window: ``py-spy record`` on its PID (optional).

py-spy is not a project dependency: ``--profile`` uses it when it is installed
(``.venv/bin/pip install py-spy``) and says so when it is not. The raw output (collapsed
stacks, one ``frame;frame;... count`` line per distinct stack) is kept beside the logs,
and the busiest functions are printed, by own time and including callees.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path

from devenv.process import ManagedProcess

# Frames on every stack (interpreter, event loop, thread plumbing): left out of the
# "including callees" list, where they would only say 100%.
PLUMBING = frozenset(
    {
        "<frozen runpy>",
        "__main__.py",
        "run.py",
        "runner.py",
        "runners.py",
        "running.py",
        "base_events.py",
        "events.py",
        "threading.py",
        "thread.py",
        "selectors.py",
    }
)
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> Path | None:
    """py-spy beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.is_file():
        return beside
    found = shutil.which("py-spy")
    return Path(found) if found else None


def start_profile(pid: int, seconds: float, output: Path) -> ManagedProcess | None:
    """Sample ``pid`` for ``seconds`` (100 Hz, idle threads left out) into ``output``."""
    binary = py_spy()
    if binary is None:
        print("  --profile: py-spy is not installed (.venv/bin/pip install py-spy)")
        return None
    argv = [str(binary), "record", "--pid", str(pid), "--duration", str(int(seconds))]
    argv += ["--rate", "100", "--format", "raw", "--output", str(output), "--nonblocking"]
    process = ManagedProcess("py-spy", argv, output.with_suffix(".log"))
    process.start()
    return process


def summarize(output: Path, top: int = 15) -> None:
    """Print the functions with the most samples: own time, and including callees."""
    if not output.exists():
        print(f"  profile: no output in {output}")
        return
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in output.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(frame) for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames[1:]):  # the first frame is the process/thread
            if _file(frame) not in PLUMBING:
                inclusive[frame] += count
    if not total:
        print("  profile: no samples")
        return
    print(f"  profile ({total} samples, raw stacks in {output}):")
    for title, counts in (("own time", own), ("including callees", inclusive)):
        print(f"    by {title}:")
        for frame, count in counts.most_common(top):
            print(f"      {100 * count / total:5.1f}%  {frame}")


def _short(frame: str) -> str:
    """``function (path/to/module.py:12)`` -> ``function (module.py)``."""
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return f"{match['function']} ({Path(match['file']).name})"


def _file(short: str) -> str:
    return short[short.rfind("(") + 1 : -1] if short.endswith(")") else ""
