"""generate.py --diff REF: what changed under output/ since a git ref, template by template and logical id by id.

Reviewers see a template's intent before any change set exists: which resources are added, removed or changed
(with the property paths that changed), and which Parameters, Outputs, Rules, Conditions and Mappings moved.
The old side is read with `git show REF:PATH`, the new side from the working tree (so uncommitted output counts).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

EXIT_OK = 0
EXIT_USAGE = 2
SECTIONS = ("Resources", "Parameters", "Conditions", "Rules", "Mappings", "Outputs")
_MAX_PATHS = 12  # per changed entry; the rest are counted, so a long list never floods the review


class DiffError(Exception):
    """A ref or repository problem: one line for the user, exit 2."""


@dataclass(frozen=True)
class SectionDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)


def repo_root(path: Path) -> Path:
    found = _git(path, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise DiffError(f"{path} is not inside a git repository, so there is nothing to compare against")
    return Path(found.stdout.strip())


def check_ref(repo: Path, ref: str) -> str:
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0 or ref.startswith("-"):
        raise DiffError(
            f"--diff {ref}: not a commit, branch or tag of this repository; give one that exists, e.g. "
            "--diff origin/main or --diff HEAD~1 (a shallow CI clone may need `git fetch` first)"
        )
    return found.stdout.strip()


def changed_files(repo: Path, commit: str, folder: str) -> list[tuple[str, str]]:
    """(status letter A/M/D, path relative to the repo root) for every file under `folder` that differs."""
    listed = _git(repo, "diff", "--name-status", "--no-renames", commit, "--", folder)
    if listed.returncode != 0:
        raise DiffError(f"git diff failed: {listed.stderr.strip()}")
    out = [(line[0], line.split("\t", 1)[1]) for line in listed.stdout.splitlines() if "\t" in line]
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "--", folder)
    out += [("A", name) for name in untracked.stdout.splitlines() if name]
    return sorted(out, key=lambda item: item[1])


def _old_text(repo: Path, commit: str, path: str) -> str:
    shown = _git(repo, "show", f"{commit}:{path}")
    return shown.stdout if shown.returncode == 0 else ""


def _load(text: str) -> dict[str, Any] | None:
    if not text:
        return {}
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def is_template(doc: Mapping[str, Any]) -> bool:
    return "Resources" in doc or "AWSTemplateFormatVersion" in doc


def value_paths(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """Paths (Properties.Tags[2].Value) where two JSON values differ, deepest first difference only."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                yield path
            elif old[key] != new[key]:
                yield from value_paths(old[key], new[key], path)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                yield from value_paths(a, b, f"{prefix}[{i}]")
    elif old != new:
        yield prefix or "(whole value)"


def section_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> SectionDiff:
    diff = SectionDiff(
        added=sorted(set(new) - set(old)),
        removed=sorted(set(old) - set(new)),
    )
    for key in sorted(set(old) & set(new)):
        if old[key] != new[key]:
            diff.changed[key] = list(value_paths(old[key], new[key]))
    return diff


def template_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, SectionDiff]:
    out = {}
    for section in SECTIONS:
        diff = section_diff(old.get(section) or {}, new.get(section) or {})
        if diff:
            out[section] = diff
    return out


def _type(doc: Mapping[str, Any], logical_id: str) -> str:
    return str((doc.get("Resources") or {}).get(logical_id, {}).get("Type", "?"))


def describe(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for section, diff in template_diff(old, new).items():
        lines.append(f"  {section}:")
        resources = section == "Resources"
        lines += [f"    + {k}" + (f" ({_type(new, k)})" if resources else "") for k in diff.added]
        lines += [f"    - {k}" + (f" ({_type(old, k)})" if resources else "") for k in diff.removed]
        for key, paths in diff.changed.items():
            shown = ", ".join(paths[:_MAX_PATHS])
            more = f" and {len(paths) - _MAX_PATHS} more" if len(paths) > _MAX_PATHS else ""
            lines.append(f"    ~ {key}" + (f" ({_type(new, key)})" if resources else "") + f": {shown}{more}")
    return lines


def run(ref: str, output_dir: Path, out: TextIO, err: TextIO) -> int:
    try:
        repo = repo_root(output_dir if output_dir.exists() else output_dir.parent)
        commit = check_ref(repo, ref)
        folder = str(output_dir.resolve().relative_to(repo.resolve()))
        files = changed_files(repo, commit, folder)
    except (DiffError, ValueError) as problem:
        print(f"generate.py: {problem}", file=err)
        return EXIT_USAGE
    if not files:
        print(f"{folder}/: no changes since {ref}", file=out)
        return EXIT_OK
    labels = {"A": "added", "M": "modified", "D": "removed"}
    print(f"{folder}/: {len(files)} file(s) changed since {ref}", file=out)
    for status, path in files:
        print(f"{path}: {labels.get(status, status)}", file=out)
        if not path.endswith(".json"):
            continue
        old = _load(_old_text(repo, commit, path) if status != "A" else "")
        new = _load((repo / path).read_text(encoding="utf-8") if status != "D" else "")
        if old is None or new is None:
            print("  (not valid JSON on one side; compare the files by hand)", file=out)
        elif is_template(old) or is_template(new):
            for line in describe(old, new):
                print(line, file=out)
    return EXIT_OK
