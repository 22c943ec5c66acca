"""Where the machine's CPU went during a benchmark phase (Linux ``/proc``; nothing elsewhere).

The concurrent figures of ``bench commit`` are bounded by CPU on a small machine, or by something that
leaves it idle (a lock, connections landing unevenly on server processes): the machine's idle share and the
CPU per request of the server processes and of PostgreSQL's backends tell which.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def _ticks_per_second() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def machine_ticks() -> tuple[int, int] | None:
    """(busy, idle) clock ticks of all CPUs since boot; ``None`` without ``/proc/stat``."""
    try:
        fields = [int(x) for x in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, idle


def process_seconds(matches: Callable[[str], bool]) -> float:
    """User + system CPU seconds of the live processes whose command line ``matches``."""
    total = 0
    for entry in PROC.glob("[0-9]*"):
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not matches(command):
                continue
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(stat[11]) + int(stat[12])
        except (OSError, ValueError, IndexError):
            continue
    return total / _ticks_per_second()


def is_cdr_server(command: str) -> bool:
    return " -m cdr serve" in command


def is_postgres(command: str) -> bool:
    return command.startswith("postgres")


@dataclass
class CpuShare:
    """CPU accounted over one or more phases: the machine's idle share, and seconds by the server and by
    PostgreSQL (summed over phases with :meth:`measure`)."""

    busy: int = 0
    idle: int = 0
    server: float = 0.0
    postgres: float = 0.0

    def measure(self, phase: Callable[[], None]) -> None:
        """Run ``phase`` and add what it cost."""
        before = machine_ticks()
        server, postgres = process_seconds(is_cdr_server), process_seconds(is_postgres)
        phase()
        after = machine_ticks()
        self.server += process_seconds(is_cdr_server) - server
        self.postgres += process_seconds(is_postgres) - postgres
        if before is not None and after is not None:
            self.busy += after[0] - before[0]
            self.idle += after[1] - before[1]

    @property
    def idle_share(self) -> float | None:
        ticks = self.busy + self.idle
        return self.idle / ticks if ticks else None
