"""Which of deploy's flags a manifest carries, and how: one table, checked against deploy's parser by a test, and
the one function that turns a manifest's stack into deploy's flags and reads them as deploy does."""

from __future__ import annotations

import argparse

from deployer.deploy_flags import StackInputs, deploy_options, flag_defaults
from deployer.fleet.manifest import StackEntry
from deployer.options import DeployOptions
from deployer.security_changes import Approval

# Every flag of `deploy`, and where a manifest takes it: a per-stack key (in [defaults] or [stacks.NAME]), a flag of
# the same meaning on the manifest command itself, or the reason a manifest has none. A test holds these against
# deploy's parser, so a new deploy flag is a decision made here, never silently missing from manifests. A per-stack
# key is read in deployer/fleet/manifest.py and handed to deploy's mapping in `stack_arguments` below.
FLAG_KEYS = {
    "--stack-name": "stack_name",
    "--template-file": "template",
    "--parameters-file": "parameters_file",
    "--parameter-overrides": "parameters",
    "--tags": "tags",
    "--capabilities": "capabilities",
    "--s3-bucket": "s3_bucket",
    "--s3-prefix": "s3_prefix",
    "--skip-preflight": "preflight",  # preflight = false
    "--region": "region",
    "--profile": "profile",
}
COMMAND_FLAGS = frozenset(
    {
        "--endpoint-url",
        "--retry-mode",
        "--max-attempts",
        "--timeout",
        "--poll-interval",
        "--max-poll-interval",
    }
)
_PER_STACK_LATER = "not supported in a manifest yet: deploy that stack on its own with the flag"
NOT_IN_MANIFEST = {
    "--yes": "a manifest never asks: `manifest deploy` executes, `manifest plan` is the review",
    "--no-execute-changeset": "`manifest plan` is the review mode",
    "--require-approval": "a manifest never asks (it runs as never): `manifest plan` reports the security changes "
    "of every stack, and that report is the review",
    "--report-file": "`manifest plan --report-file` writes one report for every stack",
    "--changeset-file": "`manifest plan --report-file` writes one report for every stack",
    "--on-failure": "the manifest command's --on-failure (stop / continue) is about the run; OnStackFailure per "
    "stack is " + _PER_STACK_LATER,
    "--role-arn": "a manifest's role_arn is the role assumed to reach the account; CloudFormation's service role "
    "is " + _PER_STACK_LATER,
    **dict.fromkeys(
        (
            "--notification-arns",
            "--rollback-alarm",
            "--stack-policy-file",
            "--outputs-file",
            "--fail-on-empty-changeset",
            "--disable-rollback",
            "--revert-drift",
            "--termination-protection",
            "--replace-failed-stack",
            "--continue-update-rollback",
            "--skip-resources",
            "--allow-replacement",
            "--allow-removal",
            "--import-existing-resources",
            "--timeline-file",
        ),
        _PER_STACK_LATER,
    ),
}


def stack_arguments(entry: StackEntry, *, review: bool) -> argparse.Namespace:
    """A manifest's stack as deploy's flags (review: with --no-execute-changeset): the keys the manifest carries, and
    every other flag at its declared default, as a command line that does not give it."""
    args = flag_defaults()
    args.review = review
    args.stack_name = entry.stack_name
    args.s3_bucket, args.s3_prefix = entry.s3_bucket, entry.s3_prefix
    args.skip_preflight = not entry.preflight
    # Many stacks cannot share one terminal prompt: `manifest plan` is the review step, and its report shows the
    # security changes of every stack.
    args.yes = True
    args.require_approval = Approval.NEVER.value
    return args


def stack_options(entry: StackEntry, parameters: dict[str, str | None], *, review: bool) -> DeployOptions:
    """The stack's options from the same mapping as the command line's, so a new deploy option cannot be forgotten
    here. The manifest has read and checked the template, tags and capabilities itself, reporting each problem at its
    line; the parameters include the outputs of the stacks this one depends on, known only now."""
    inputs = StackInputs(entry.template, parameters, entry.tags, entry.capabilities)
    return deploy_options(stack_arguments(entry, review=review), inputs)
