"""The import rules of docs/architecture.md: which folder of services/ may import which.

A process folder imports the core, the platform and (some) the growth fold, never another process,
except the store modules named one by one below (each shared by two processes on purpose). The core
imports nothing of Vitals outside itself and no Kafka, Faust, Redis or web framework.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parent.parent / "services"

# Importer folder -> what it may import of `vitals`: a folder ("core" = vitals.core.*) or one
# module ("notifier.rules_store"). Folders missing here (tools, the top-level cli) are unrestricted.
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "core.models": frozenset({"core.models"}),
    "platform": frozenset({"platform"}),
    # The growth processor runs inside the scorer and decodes its records.
    "growth": frozenset({"growth", "core", "platform", "scorer.records"}),
    "ingest": frozenset({"ingest", "core", "platform"}),
    # The scorer reads the alert-rule overrides the API writes.
    "scorer": frozenset({"scorer", "core", "platform", "growth", "notifier.rules_store"}),
    "projector": frozenset({"projector", "core", "platform"}),
    "notifier": frozenset({"notifier", "core", "platform"}),
    # The API reads what the projector and the notifier write, and manages destinations, rules,
    # acks and snoozes (a test send renders and delivers like the notifier does).
    "api": frozenset(
        {
            "api", "core", "platform", "growth",
            "projector.reader", "projector.connect", "projector.partitions",
            "notifier.acks", "notifier.delivery", "notifier.delivery_log",
            "notifier.destinations", "notifier.formats", "notifier.history",
            "notifier.rules_store",
        }
    ),
}  # fmt: skip
# Third-party packages the pure core must not import: it is plain computation on plain values.
CORE_FORBIDDEN = frozenset(
    {"faust", "mode", "aiokafka", "redis", "fastapi", "starlette", "uvicorn", "httpx"}
)


def _folder(module: tuple[str, ...]) -> str:
    """The rule folder of a module path below vitals: core.models has rules of its own."""
    return "core.models" if module[:2] == ("core", "models") else module[0]


def imports_of(source: str, module: tuple[str, ...]) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in ``source``, relative ones resolved; ``module`` is the
    importing module's path below ``vitals`` (a package's ``__init__`` is the package)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ("vitals", *module[: len(module) - node.level])
                name = ".".join((*base, node.module) if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def violations(source: str, module: tuple[str, ...]) -> list[str]:
    folder = _folder(module)
    allowed = ALLOWED.get(folder)
    out = []
    for line, name in imports_of(source, module):
        parts = name.split(".")
        if folder in ("core", "core.models") and parts[0] in CORE_FORBIDDEN:
            out.append(f"line {line}: the core imports {name}")
        if allowed is None or parts[0] != "vitals" or len(parts) < 2:
            continue
        target = tuple(parts[1:])
        ok = any(
            target[: len(rule.split("."))] == tuple(rule.split("."))
            and (rule != "core" or folder != "core.models")
            for rule in allowed
        )
        if not ok:
            out.append(f"line {line}: {folder} imports {name}")
    return out


def _modules() -> list[tuple[Path, tuple[str, ...]]]:
    found = []
    for path in sorted(SERVICES.rglob("*.py")):
        parts = path.relative_to(SERVICES).with_suffix("").parts
        if parts[-1] == "__init__":
            # A package's __init__ resolves relative imports from the package itself.
            parts = (*parts[:-1], "__init__")
        found.append((path, parts))
    return found


def test_every_module_keeps_the_import_rules() -> None:
    broken = [
        f"{path.relative_to(SERVICES.parent)} {problem}"
        for path, module in _modules()
        if len(module) > 1
        for problem in violations(path.read_text(), module)
    ]
    assert not broken, (
        "imports that break docs/architecture.md's rules (move the shared code to core/ or "
        "platform/, or name the module in ALLOWED with a reason):\n" + "\n".join(broken)
    )


def test_the_rules_catch_a_process_importing_another() -> None:
    source = "from vitals.scorer.app import ScorerApp\nfrom . import writer\n"
    assert violations(source, ("projector", "cli")) == [
        "line 1: projector imports vitals.scorer.app",
        "line 1: projector imports vitals.scorer.app.ScorerApp",
    ]
    assert violations("import redis\n", ("core", "fold")) == ["line 1: the core imports redis"]
    assert violations("from vitals.core import fold\n", ("core", "models", "sbg")) == [
        "line 1: core.models imports vitals.core",
        "line 1: core.models imports vitals.core.fold",
    ]
    assert (
        violations("from vitals.notifier.rules_store import RulesStore\n", ("scorer", "app")) == []
    )
