"""A latency probe in a process of its own, so that the load's client threads (in the
test's process) do not add their GIL waits to the figures:

    python tests/drills/drill_probe.py BASE PATH TOKEN SECONDS

sends GET PATH with the bearer TOKEN one request at a time for SECONDS and prints one
JSON line: [[status, seconds], ...].
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from drill_http import bearer, send

PAUSE = 0.02  # between requests: a steady trickle, not load


def run(base: str, path: str, token: str, seconds: float) -> list[tuple[int | str, float]]:
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        answer = send(base, "GET", path, headers=bearer(token))
        samples.append((answer.status, answer.seconds))
        time.sleep(PAUSE)  # pacing
    return samples


class Probe:
    """The probe process, started now; `result()` waits for its samples."""

    def __init__(self, base: str, path: str, token: str, seconds: float) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, __file__, base, path, token, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parent,
        )
        self._seconds = seconds

    def result(self) -> list[tuple[int | str, float]]:
        out, _ = self._proc.communicate(timeout=self._seconds + 60)
        assert self._proc.returncode == 0, out
        return [tuple(sample) for sample in json.loads(out)]


if __name__ == "__main__":
    base, path, token, seconds = sys.argv[1:]
    print(json.dumps(run(base, path, token, float(seconds))))
