"""`pip install .` (not editable) ships every module and data file of services/, built from exactly
what deploy/Dockerfile copies into the image.

Packages are found by setup.py rather than listed by hand: a hand list once left a new subpackage
out of the image while the editable venv, which reads services/ in place, still worked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVICES = REPO / "services"
# Files that are build or editor by-products, never part of the source tree.
IGNORED_PARTS = {"__pycache__"}
IGNORED_SUFFIXES = {".pyc"}


def _source_files() -> set[str]:
    """Every file under services/ that git tracks, as a path relative to the `vitals` package."""
    listed = subprocess.run(
        ["git", "ls-files", "services"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return {
        str(Path(name).relative_to("services"))
        for name in listed
        if not IGNORED_PARTS & set(Path(name).parts) and Path(name).suffix not in IGNORED_SUFFIXES
    }


def _dockerfile_context(dest: Path) -> None:
    """Copy into dest what the Dockerfile's COPY lines copy, so the build sees only those files."""
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    copies = re.findall(r"^COPY\s+(.+)$", dockerfile, flags=re.MULTILINE)
    assert copies, "deploy/Dockerfile has no COPY line: the image would build nothing"
    for line in copies:
        *sources, target = line.split()
        for source in sources:
            src = REPO / source
            # "COPY a b ./" puts a and b inside ./; "COPY services ./services" names the copy.
            out = dest / target / src.name if target.endswith("/") else dest / target
            if src.is_dir():
                shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, out)


def test_non_editable_install_ships_every_file(tmp_path: Path) -> None:
    context = tmp_path / "context"
    target = tmp_path / "site"
    context.mkdir()
    _dockerfile_context(context)
    # With build isolation, as `docker build` does: pip fetches setuptools from PyPI (cached after
    # the first run); the venv's own setuptools stays the one lifetimes' pkg_resources needs.
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(context),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, f"`pip install .` failed:\n{built.stderr}"
    installed = {
        str(path.relative_to(target / "vitals"))
        for path in (target / "vitals").rglob("*")
        if path.is_file()
        and not IGNORED_PARTS & set(path.parts)
        and path.suffix not in IGNORED_SUFFIXES
    }
    missing = sorted(_source_files() - installed)
    assert not missing, (
        f"`pip install .` leaves out {missing}: add the data files to "
        "[tool.setuptools.package-data] in pyproject.toml (modules are found by setup.py)"
    )
