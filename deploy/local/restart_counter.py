"""A supervisord event listener that counts each program's automatic restarts for `make status`.

supervisord restarts a program that exits but keeps no count of it. It does tell its event
listeners every state change: a program entering STARTING from EXITED (it died while running)
or from BACKOFF (it died while starting, and the backoff delay is over) is a restart; from
STOPPED it is a first or a manual start. The counts go to a tab-separated file, written whole
on each change; stack.sh removes it when it starts a new supervisord.

    restart_counter.py <counts file>     (run by supervisord, speaking its listener protocol)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from supervisor import childutils

RESTARTED_FROM = frozenset({"EXITED", "BACKOFF"})


def read_counts(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, count = line.partition("\t")
            if count.isdigit():
                counts[name] = int(count)
    return counts


def write_counts(path: Path, counts: dict[str, int]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(f"{name}\t{count}\n" for name, count in sorted(counts.items())))
    os.replace(partial, path)


def restarted_program(event_name: str, payload: str) -> str | None:
    """The program an event shows supervisord starting again, if it shows one."""
    if event_name != "PROCESS_STATE_STARTING":
        return None
    fields = childutils.get_headers(payload.splitlines()[0] if payload else "")
    if fields.get("from_state") not in RESTARTED_FROM:
        return None
    return fields.get("processname")


def main() -> None:
    path = Path(sys.argv[1])
    counts = read_counts(path)
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        program = restarted_program(headers.get("eventname", ""), payload)
        if program is not None:
            counts[program] = counts.get(program, 0) + 1
            write_counts(path, counts)
            print(f"{program} restarted ({counts[program]} so far)", file=sys.stderr, flush=True)
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
