"""The architecture, checked statically on the source files: which package may import which
(every import, lazy ones inside functions too), and no function longer than a screen.

Layers: the core imports nothing else of blip-rl; the infrastructure only the core; the task
sequences (envs) the core and infrastructure; each wing (agents, classification) those and
envs (agents only), never the other wing; the commands, where the wings meet, anything.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
SOURCES = {"blip_rl": "blip_rl", "agents": "blip_rl.agents", "envs": "blip_rl.envs",
           "classification": "blip_rl.classification"}  # fmt: skip
"""Top-level folder -> the package it installs as (pyproject.toml's package-dir)."""
PACKAGES = ("core", "infra", "commands", "agents", "envs", "classification")
MAY_IMPORT = {
    "core": {"core"},
    "infra": {"core", "infra"},
    "envs": {"core", "infra", "envs"},
    "agents": {"api", "core", "infra", "envs", "agents"},
    "classification": {"api", "core", "infra", "classification"},
    "commands": {"api", *PACKAGES},
    "api": {"core"},
}
"""What each layer may import; ``api`` is the package ``blip_rl`` itself (it re-exports the
core)."""
LONGEST_FUNCTION = 60


def layer(module: str) -> str:
    """The layer of a ``blip_rl...`` module: its sub-package, or ``api`` for the top."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in PACKAGES:
        return parts[1]
    return "commands" if parts[1:] == ["__main__"] else "api"


def source_modules(root: Path) -> dict[Path, str]:
    """Every product source file under ``root`` and its module name."""
    found = {}
    for folder, package in SOURCES.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[path] = ".".join((package, *parts))
    return found


def imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The blip_rl modules an import statement brings in (relative ones resolved)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
            base = ".".join([*anchor, *([base] if base else [])])
        # `from blip_rl import agents` imports the sub-package agents
        names = [f"{base}.{a.name}" if base == "blip_rl" else base for a in node.names]
    else:
        return []
    return [name for name in names if name == "blip_rl" or name.startswith("blip_rl.")]


def violations(root: Path) -> list[str]:
    """One line per import that crosses a boundary: ``file:line: ...``."""
    found = []
    for path, module in source_modules(root).items():
        mine = layer(module)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target in imported(node, module, path.name == "__init__.py"):
                theirs = layer(target)
                if theirs not in MAY_IMPORT[mine]:
                    allowed = ", ".join(sorted(MAY_IMPORT[mine]))
                    found.append(
                        f"{path.relative_to(root)}:{node.lineno}: {mine} imports {target} "
                        f"({theirs}); {mine} may import only: {allowed}"
                    )
    return found


def test_every_import_stays_inside_the_layers_it_may_use():
    assert violations(ROOT) == []


def test_the_boundary_check_names_an_injected_bad_import(tmp_path):
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            copy = tmp_path / path.relative_to(ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(path.read_text())
    quant = tmp_path / "blip_rl" / "core" / "quant.py"
    quant.write_text(quant.read_text() + "\n\ndef f():\n    from blip_rl.agents import policy\n")
    envs = tmp_path / "envs" / "make.py"
    envs.write_text(envs.read_text() + "\nfrom blip_rl import agents\n")
    found = violations(tmp_path)
    assert len(found) == 2
    assert re.match(r"blip_rl/core/quant\.py:\d+: core imports blip_rl\.agents \(agents\); "
                    r"core may import only: core$", found[0])  # fmt: skip
    assert "envs/make.py" in found[1] and "envs imports blip_rl.agents (agents)" in found[1]


def test_the_package_map_is_the_one_pyproject_installs():
    pyproject = (ROOT / "pyproject.toml").read_text()
    for folder, package in SOURCES.items():
        assert re.search(rf'^"?{re.escape(package)}"? = "{folder}"$', pyproject, re.M), package


def test_no_function_is_longer_than_a_screen():
    long = {}
    for path in source_modules(ROOT):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST_FUNCTION:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}
