"""The scorer worker with the growth agent left out: the "before" of the growth cost.

    .venv/bin/python benchmarks/scorer_throughput.py \
        --scorer-command benchmarks/scorer_without_growth.py

Same CLI and settings as ``vitals scorer``; only ``GrowthAgent`` is replaced by a no-op, so the
difference between a run with and without this script is what growth adds per event.
"""

from __future__ import annotations

import sys

import vitals.scorer.app as scorer_app


class _NoGrowth:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass


scorer_app.GrowthAgent = _NoGrowth  # type: ignore[assignment,misc]

if __name__ == "__main__":
    from vitals.cli import main

    sys.argv = ["vitals", "scorer", *sys.argv[1:]]
    main()
