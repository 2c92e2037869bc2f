"""Run every benchmark module and print one `name value unit` line per figure."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import bench
from bench.figures import Figure


def main(selected: list[str]) -> int:
    folder = Path(bench.__file__).parent
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(folder)])
        if info.name.startswith("bench_") and (not selected or info.name in selected)
    )
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        try:
            figures: list[Figure] = module.run()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            print(f"# {name} failed: {exc!r}", file=sys.stderr)
            failed += 1
            continue
        for figure in figures:
            print(figure.line(), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
