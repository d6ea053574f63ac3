"""A manifest's stack is read by deploy's own mapping: its options are those of the equivalent deploy command line,
field by field, so an option added to deploy reaches a manifest's stacks without an edit of the manifest's code."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from deployer import deploy_flags
from deployer.arguments import build_parser
from deployer.deploy_flags import deploy_options
from deployer.fleet.manifest import load_manifest
from deployer.fleet.manifest_flags import stack_arguments, stack_options
from deployer.options import DeployOptions
from deployer.security_changes import Approval
from tests.deploy._manifest import write_manifest

pytestmark = pytest.mark.deploy

MANIFEST = """
[stacks.app]
stack_name = "app-prod"
template = "app.json"
region = "us-east-1"
parameters = { Upstream = "arn:aws:sns:us-east-1:123456789012:net", Size = "large" }
tags = { team = "web" }
s3_bucket = "templates"
s3_prefix = "app"
preflight = false
"""
# What the manifest's keys above say on deploy's command line; a manifest never asks (see manifest_flags.py).
EQUIVALENT = [
    "--stack-name",
    "app-prod",
    "--parameter-overrides",
    "Upstream=arn:aws:sns:us-east-1:123456789012:net",
    "Size=large",
    "--tags",
    "team=web",
    "--s3-bucket",
    "templates",
    "--s3-prefix",
    "app",
    "--skip-preflight",
    "--yes",
    "--require-approval",
    "never",
]


@pytest.mark.parametrize(("review", "mode"), [(False, []), (True, ["--no-execute-changeset"])])
def test_a_manifests_stack_has_the_options_of_the_equivalent_deploy_command_line(
    tmp_path: Path, review: bool, mode: list[str]
) -> None:
    entry = load_manifest(write_manifest(tmp_path, MANIFEST)).stacks["app"]
    from_manifest = stack_options(entry, entry.parameters, review=review)
    command_line = ["deploy", "--template-file", str(tmp_path / "app.json"), *EQUIVALENT, *mode]
    from_cli = deploy_options(build_parser().parse_args(command_line))
    # Every field, those added later included: a manifest's stack cannot miss an option deploy reads.
    differing = [
        f.name
        for f in dataclasses.fields(DeployOptions)
        if getattr(from_manifest, f.name) != getattr(from_cli, f.name)
    ]
    assert differing == []
    assert from_manifest.execute is not review and from_manifest.assume_yes
    assert (from_manifest.s3_bucket, from_manifest.preflight) == ("templates", False)
    assert from_manifest.require_approval is Approval.NEVER and from_manifest.parameters["Size"] == "large"


def test_a_flag_added_to_deploys_declaration_reaches_a_manifests_stacks_with_its_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    declare = deploy_flags.add_deploy_arguments

    def with_a_new_flag(p: argparse.ArgumentParser, *, review: bool) -> None:
        declare(p, review=review)
        p.add_argument("--brand-new", default="declared")

    monkeypatch.setattr(deploy_flags, "add_deploy_arguments", with_a_new_flag)
    entry = load_manifest(write_manifest(tmp_path, MANIFEST)).stacks["app"]
    assert stack_arguments(entry, review=True).brand_new == "declared"
    assert stack_arguments(entry, review=False).brand_new == "declared"
