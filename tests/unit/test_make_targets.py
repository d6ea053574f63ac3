"""The Makefile installs in two steps: generating needs only the runtime dependencies, and the tests, linters and
emulator add the development tools. Read from `make -n` (a dry run), so nothing is installed."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_INSTALL = "pip install --quiet -e ."
DEV_INSTALL = "pip install --quiet -e '.[dev]'"
# Import names of the packages only the dev extra installs.
DEV_ONLY = {"pytest", "moto", "checkov", "ruff", "mypy", "markdown_it", "awscli", "cdklabs"}

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, venv: Path) -> list[str]:
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def test_make_generate_on_a_fresh_clone_installs_the_runtime_dependencies_only(tmp_path: Path) -> None:
    lines = dry_run("generate", tmp_path / "venv")
    assert any(line.endswith(RUNTIME_INSTALL) for line in lines), lines
    assert not any("[dev]" in line for line in lines), lines
    assert lines[-1].endswith("python generate.py"), lines


@pytest.mark.parametrize("target", ["test", "lint", "demo", "emulator"])
def test_targets_that_need_the_development_tools_install_them_after_the_runtime(
    target: str, tmp_path: Path
) -> None:
    lines = dry_run(target, tmp_path / "venv")
    runtime = next(i for i, line in enumerate(lines) if line.endswith(RUNTIME_INSTALL))
    dev = next(i for i, line in enumerate(lines) if line.endswith(DEV_INSTALL))
    assert runtime < dev, lines


def test_after_make_generate_make_test_adds_only_the_development_tools(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".runtime-stamp").touch()  # newer than pyproject.toml: the runtime install is done
    lines = dry_run("test", venv)
    assert not any(line.endswith(RUNTIME_INSTALL) for line in lines), lines
    assert any(line.endswith(DEV_INSTALL) for line in lines), lines


def runtime_imports(path: Path) -> set[str]:
    """Top-level modules a file imports at run time (imports under `if TYPE_CHECKING:` are for mypy only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and ast.unparse(branch.test).endswith("TYPE_CHECKING")
        for stmt in branch.body
        for node in ast.walk(stmt)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_generate_and_deploy_import_nothing_from_the_development_tools() -> None:
    files = [ROOT / "generate.py", ROOT / "deploy.py"]
    for package in ("templates", "generator", "cfnspec", "deployer"):
        files.extend(sorted((ROOT / package).rglob("*.py")))
    found = {
        f"{path.relative_to(ROOT)}: {name}" for path in files for name in runtime_imports(path) & DEV_ONLY
    }
    assert not found, sorted(found)
