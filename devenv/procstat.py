"""CPU time and memory of a local process, from ``/proc/<pid>`` (Linux)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcessSample:
    """User+system CPU seconds so far, and resident memory in bytes, of one process."""

    cpu_seconds: float
    rss_bytes: int


def sample(pid: int) -> ProcessSample:
    """Read ``/proc/<pid>/stat`` (utime, stime) and ``/proc/<pid>/statm`` (resident pages)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may contain spaces; the fields after it are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return ProcessSample((utime + stime) / CLOCK_TICKS, resident * PAGE_SIZE)
