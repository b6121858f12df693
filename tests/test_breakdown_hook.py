"""The scale benchmark's in-process timing (--breakdown): a coroutine is timed by its
steps on the CPU, not by the time it waits; a function by its calls; the garbage
collector by its runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.scale_breakdown import HOOK_DIR

PROGRAM = """
import asyncio, os, signal, time

def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass

async def waits_then_spins():
    await asyncio.sleep(0.3)   # waiting costs no CPU
    spin(0.05)
    await asyncio.sleep(0.3)
    spin(0.05)

def main():
    import gc
    os.kill(os.getpid(), signal.SIGUSR1)
    gc.collect()  # timed as the collector's, by generation
    for _ in range(2):
        asyncio.run(waits_then_spins())
    os.kill(os.getpid(), signal.SIGUSR1)
"""


def test_a_coroutine_is_timed_by_its_steps_and_a_function_by_its_calls(tmp_path: Path) -> None:
    output = tmp_path / "breakdown.jsonl"
    (tmp_path / "program.py").write_text(PROGRAM)
    env = {
        "PYTHONPATH": f"{HOOK_DIR}:{tmp_path}",
        "WATCHKEEPER_BREAKDOWN": str(output),
        "WATCHKEEPER_BREAKDOWN_TARGETS": "program:waits_then_spins,program:spin",
    }
    command = [sys.executable, "-c", "import program; program.main()"]
    subprocess.run(command, env=env, check=True, timeout=30)
    before, after = (json.loads(line) for line in output.read_text().splitlines())
    coroutine = after["seconds"]["program.waits_then_spins"]
    function = after["seconds"]["program.spin"]
    calls = {name: n for name, n in after["calls"].items() if not name.startswith("gc.")}
    assert not any(n for name, n in before["calls"].items() if not name.startswith("gc."))
    assert calls == {"program.waits_then_spins": 2, "program.spin": 4}
    assert 0.18 <= function <= 0.3, function  # 4 x 50 ms of CPU
    assert function <= coroutine <= function + 0.05, coroutine  # the 1.2 s of sleep: none
    assert after["calls"].get("gc.generation2", 0) >= 1
