"""Build a mypyc-compiled copy of the package, for measuring it beside the pure one (issue 10).

    .venv/bin/python benchmarks/build_compiled.py /tmp/vitals-mypyc            # the scoring core
    .venv/bin/python benchmarks/build_compiled.py /tmp/vitals-mypyc --with-scorer
    .venv/bin/python benchmarks/processor_throughput.py --compiled /tmp/vitals-mypyc

The tree DIR/vitals is a fresh copy of services/ with the chosen modules compiled beside their
sources (an extension module is found before the .py of the same name), so ``PYTHONPATH=DIR``
imports the compiled modules and the pure rest. Nothing is installed and the checkout is untouched.
Needs gcc and the Python headers; mypyc ships with mypy (the dev extra).

Compiled by default: every module of ``vitals.core`` except ``events`` (its pydantic models: the
mypyc of mypy 2.4 emits C for it that gcc rejects, ``CPyModule_pydantic___main`` undeclared), and
the model formulas under ``core/models`` but not the fitting (scipy.optimize, off the hot path).
``--with-scorer`` adds the scorer's hot loop around the core: the processor, record decoding, the
state store seam, the timer index and the partitioner.
docs/measurements.md has the figures.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = [
    "core/alert_rules",
    "core/billing",
    "core/clv",
    "core/config",
    "core/decay",
    "core/fold",
    "core/growth_events",
    "core/health",
    "core/lifecycle",
    "core/norms",
    "core/params",
    "core/population",
    "core/published",
    "core/reasons",
    "core/repurchase",
    "core/rfm",
    "core/risk",
    "core/snapshot",
    "core/state",
    "core/temperature",
    "core/timers",
    "core/usage",
    "core/models/bgnbd",
    "core/models/gammagamma",
    "core/models/mbgnbd",
    "core/models/sbg",
]
SCORER = [
    "scorer/processor",
    "scorer/records",
    "scorer/store",
    "scorer/timers",
    "platform/partitioning",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("target", help="directory to build in (its vitals/ is replaced)")
    parser.add_argument("--with-scorer", action="store_true", help="compile the scorer loop too")
    args = parser.parse_args()
    target = Path(args.target).resolve()
    tree = target / "vitals"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.rmtree(target / "build", ignore_errors=True)
    shutil.copytree(ROOT / "services", tree, ignore=shutil.ignore_patterns("__pycache__"))
    modules = CORE + (SCORER if args.with_scorer else [])
    mypyc = Path(sys.executable).parent / "mypyc"
    command = [str(mypyc), "--strict", "--ignore-missing-imports", "--python-version", "3.11"]
    started = time.perf_counter()
    result = subprocess.run(
        command + [f"vitals/{module}.py" for module in modules],
        cwd=target,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        sys.exit(f"mypyc failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    print(
        f"compiled {len(modules)} modules into {tree} in {time.perf_counter() - started:.0f} s; "
        f"measure with: benchmarks/processor_throughput.py --compiled {target}"
    )


if __name__ == "__main__":
    main()
