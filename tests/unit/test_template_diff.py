"""generate.py --diff REF against a git repository made in the test: two commits of an output/ folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import generate
from generator import template_diff

pytestmark = pytest.mark.unit

OLD: dict[str, Any] = {
    "Parameters": {"Env": {"Type": "String", "Default": "dev"}, "Gone": {"Type": "String"}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
    "Resources": {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": "a", "Tags": [{"Key": "k", "Value": "1"}]},
        },
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Same": {"Type": "AWS::SNS::Topic"},
    },
    "Outputs": {"BucketName": {"Value": {"Ref": "Bucket"}}},
}
NEW: dict[str, Any] = {
    "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
    "Rules": {"SizeRule": {"Assertions": []}},
    "Resources": {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "Properties": {"BucketName": "b", "Tags": [{"Key": "k", "Value": "2"}]},
        },
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Same": {"Type": "AWS::SNS::Topic"},
    },
    "Outputs": {"BucketName": {"Value": {"Ref": "Bucket"}}, "TopicArn": {"Value": {"Ref": "Topic"}}},
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    out = tmp_path / "output"
    out.mkdir()
    (out / "stack.json").write_text(json.dumps(OLD), encoding="utf-8")
    (out / "stack.md").write_text("old page\n", encoding="utf-8")
    (out / "old.parameters.json").write_text("[]", encoding="utf-8")
    (tmp_path / "unrelated.txt").write_text("x", encoding="utf-8")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    (out / "stack.json").write_text(json.dumps(NEW), encoding="utf-8")
    (out / "stack.md").write_text("new page\n", encoding="utf-8")
    (out / "old.parameters.json").unlink()
    (tmp_path / "unrelated.txt").write_text("y", encoding="utf-8")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "second")
    return tmp_path


def test_diff_names_changed_files_and_resources_by_logical_id(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate.main(["--diff", "HEAD~1", "--output-dir", str(repo / "output")]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert "output/: 3 file(s) changed since HEAD~1" in lines
    assert "output/old.parameters.json: removed" in lines
    assert "output/stack.md: modified" in lines
    assert "unrelated" not in text
    assert "    + Topic (AWS::SNS::Topic)" in lines
    assert "    - Queue (AWS::SQS::Queue)" in lines
    assert (
        "    ~ Bucket (AWS::S3::Bucket): DeletionPolicy, Properties.BucketName, Properties.Tags[0].Value"
        in lines
    )
    assert not any("Same" in line for line in lines)


def test_diff_covers_parameters_outputs_rules_and_conditions() -> None:
    sections = template_diff.template_diff(OLD, NEW)
    assert sections["Parameters"].removed == ["Gone"]
    assert sections["Parameters"].changed == {"Env": ["Default"]}
    assert sections["Outputs"].added == ["TopicArn"]
    assert sections["Rules"].added == ["SizeRule"]
    assert "Conditions" not in sections  # unchanged


def test_uncommitted_and_untracked_output_counts_as_changed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "output" / "extra.json").write_text(json.dumps({"Resources": {"X": {"Type": "AWS::SNS::Topic"}}}))
    assert template_diff.run("HEAD", repo / "output", sys.stdout, sys.stderr) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "output/extra.json: added" in lines
    assert "    + X (AWS::SNS::Topic)" in lines


def test_no_changes_since_the_ref(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--diff", "HEAD", "--output-dir", str(repo / "output")]) == 0
    assert "no changes since HEAD" in capsys.readouterr().out


@pytest.mark.parametrize("ref", ["no-such-branch", "HEAD~5", "--output"])
def test_a_bad_ref_exits_2_with_a_clear_message(
    repo: Path, capsys: pytest.CaptureFixture[str], ref: str
) -> None:
    assert generate.main([f"--diff={ref}", "--output-dir", str(repo / "output")]) == 2
    err = capsys.readouterr().err
    assert f"--diff {ref}: not a commit" in err
    assert err.count("\n") == 1


def test_outside_a_git_repository_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "output").mkdir()
    assert generate.main(["--diff", "HEAD", "--output-dir", str(tmp_path / "output")]) == 2
    assert "not inside a git repository" in capsys.readouterr().err
