"""examples/ci: the workflow parses, calls only commands and flags that exist, and the role policy covers every
AWS call the deployer makes, preflight's included (derived from the code, so a new call without its permission
fails)."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

import generate
from cfnspec.resource_kinds import NAME_LISTS
from deployer.arguments import build_parser
from tests.deploy import _aws_calls

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "examples" / "ci"
WORKFLOW = CI / "github-workflow.yml"
POLICY = CI / "deploy-role-policy.json"
# Code the workflow's commands never reach, with the command (and flag) that does: the policy leaves its calls out,
# and a test holds the workflow to not running it.
NOT_RUN_BY_THE_WORKFLOW = {
    "deployer/fleet": ("stackset", None),  # stack sets across accounts, with roles of their own
    # Adopting the resources a torn-down stack retained.
    "deployer/importing.py": ("deploy", "--import-existing-resources"),
}


def workflow() -> dict[Any, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def steps(job: str) -> list[dict[str, Any]]:
    return list(workflow()["jobs"][job]["steps"])


def commands(job: str) -> list[list[str]]:
    """Every shell command of the job's run steps, continuation lines joined, as tokens."""
    out: list[list[str]] = []
    for step in steps(job):
        script = str(step.get("run", "")).replace("\\\n", " ")
        for line in script.splitlines():
            if line.strip() and not line.strip().startswith("#"):
                out.append(shlex.split(line, comments=True))
    return out


def tool_calls(job: str, script: str) -> list[tuple[str | None, list[str]]]:
    """(subcommand or None, --flags) for each call of `script` in the job."""
    calls = []
    for tokens in commands(job):
        for i, token in enumerate(tokens):
            if token.endswith(script):
                rest = tokens[i + 1 :]
                sub = rest[0] if rest and not rest[0].startswith("-") else None
                flags = [t.split("=", 1)[0] for t in rest if t.startswith("--")]
                calls.append((sub, flags))
    return calls


def subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if a.dest == "command")
    return dict(action.choices)  # type: ignore[arg-type]


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def test_the_workflow_is_valid_yaml_with_a_review_and_a_deploy_job() -> None:
    doc = workflow()
    triggers = doc.get("on") or doc.get(True)  # YAML 1.1 reads a bare `on` key as True
    assert set(triggers) == {"pull_request", "push"}
    assert doc["jobs"]["review"]["if"] == "github.event_name == 'pull_request'"
    assert "refs/heads/main" in doc["jobs"]["deploy"]["if"]
    for job in ("review", "deploy"):
        assert doc["jobs"][job]["permissions"]["id-token"] == "write"  # OIDC, no stored keys
        oidc = [
            s
            for s in steps(job)
            if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")
        ]
        assert len(oidc) == 1 and "role-to-assume" in oidc[0]["with"]
        assert "aws-access-key-id" not in oidc[0]["with"]


def test_review_runs_the_tests_the_freshness_check_and_plan_and_posts_the_report() -> None:
    runs = [" ".join(c) for c in commands("review")]
    order = [
        next(i for i, r in enumerate(runs) if r == "make test"),
        next(i for i, r in enumerate(runs) if "generate.py --check" in r),
        next(i for i, r in enumerate(runs) if "deploy.py plan" in r),
        next(i for i, r in enumerate(runs) if r.startswith("gh pr comment")),
    ]
    assert order == sorted(order)
    plan = next(flags for sub, flags in tool_calls("review", "deploy.py") if sub == "plan")
    assert "--report-file" in plan
    assert "--body-file plan.md" in runs[order[3]]


def test_main_deploys_and_a_failed_first_create_leaves_no_stack() -> None:
    deploys = [flags for sub, flags in tool_calls("deploy", "deploy.py") if sub == "deploy"]
    assert len(deploys) == 2
    assert (
        sum("--on-failure" in flags for flags in deploys) == 1
    )  # only the create branch: DELETE is create-only


@pytest.mark.parametrize("job", ["review", "deploy"])
def test_every_deploy_py_command_and_flag_exists(job: str) -> None:
    known = subparsers()
    calls = tool_calls(job, "deploy.py")
    assert calls
    for sub, flags in calls:
        assert sub in known, sub
        missing = {f for f in flags if f not in options(known[sub])}
        assert not missing, f"deploy.py {sub}: {missing}"


@pytest.mark.parametrize("job", ["review", "deploy"])
def test_every_generate_py_flag_and_make_target_exists(job: str) -> None:
    generate_flags = options(generate._parser([]))
    for sub, flags in tool_calls(job, "generate.py"):
        assert sub is None
        assert set(flags) <= generate_flags, flags
    targets = set(
        re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    )
    used = [tokens[1] for tokens in commands(job) if tokens and tokens[0] == "make"]
    assert used and set(used) <= targets


def deployer_calls() -> set[tuple[str, str]]:
    """(service, operation) of every AWS call in deployer/ and its packages, but the code the workflow never runs."""
    found: set[tuple[str, str]] = set()
    for source in sorted((ROOT / "deployer").rglob("*.py")):
        where = source.relative_to(ROOT).as_posix()
        if not any(where == skip or where.startswith(f"{skip}/") for skip in NOT_RUN_BY_THE_WORKFLOW):
            found |= _aws_calls.calls_in(source)
    return found


def policy_actions() -> set[str]:
    doc = json.loads(POLICY.read_text(encoding="utf-8"))
    actions: set[str] = set()
    for statement in doc["Statement"]:
        assert statement["Effect"] == "Allow"
        value = statement["Action"]
        actions |= {value} if isinstance(value, str) else set(value)
    return actions


def test_the_policy_allows_every_cloudformation_call_the_deployer_makes() -> None:
    calls = {operation for service, operation in deployer_calls() if service == "cloudformation"}
    # The derivation itself must see the calls this work relies on, or the check below proves nothing.
    assert {"CreateChangeSet", "DescribeEvents", "DetectStackDrift", "SetStackPolicy"} <= calls
    missing = {f"cloudformation:{name}" for name in calls} - policy_actions()
    assert not missing, f"add to {POLICY.name}: {sorted(missing)}"


def test_the_policy_allows_every_call_of_the_preflight_checks_deploy_and_plan_run() -> None:
    # The leftovers check makes the calls its table names (cfnspec/resource_kinds.py), which no scan of code can see.
    calls = deployer_calls() | {(lookup.service, lookup.operation) for lookup in NAME_LISTS.values()}
    # Calls made through each way the code holds a client: bound to a name, chained, a paginator, handed in.
    assert {
        ("kms", "ListGrants"),
        ("ec2", "DescribeInstanceTypeOfferings"),
        ("service-quotas", "GetServiceQuota"),
        ("s3control", "GetPublicAccessBlock"),
        ("logs", "ListTagsForResource"),
        ("cloudformation", "DescribeStackResources"),
        ("s3", "PutObject"),
        ("cloudwatch", "ListDashboards"),
        ("cloudwatch", "ListTagsForResource"),
    } <= calls
    needed = {_aws_calls.iam_action(service, operation) for service, operation in calls} - {None}
    missing = needed - policy_actions()
    assert not missing, f"add to {POLICY.name}: {sorted(str(m) for m in missing)}"


def test_the_policy_allows_the_upload_and_passing_the_service_role() -> None:
    actions = policy_actions()
    assert {"s3:PutObject", "s3:ListBucket"} <= actions  # the upload, and HeadBucket on the template bucket
    assert "s3:GetObject" in actions  # CloudFormation reads TemplateURL with the caller's credentials
    assert "iam:PassRole" in actions  # --role-arn


@pytest.mark.parametrize("job", ["review", "deploy"])
def test_the_workflow_runs_none_of_the_code_the_policy_leaves_out(job: str) -> None:
    for sub, flags in tool_calls(job, "deploy.py"):
        for command, flag in NOT_RUN_BY_THE_WORKFLOW.values():
            assert not (sub == command and (flag is None or flag in flags)), f"deploy.py {sub} {flags}"


def test_the_ci_readme_names_every_file_and_the_permissions() -> None:
    text = (CI / "README.md").read_text(encoding="utf-8")
    for name in (WORKFLOW.name, POLICY.name, "iam:PassRole", "DescribeEvents", "--on-failure DELETE"):
        assert name in text, name
