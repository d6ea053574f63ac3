"""Which of deploy's flags a manifest carries, and how: one table, checked against deploy's parser by a test."""

from __future__ import annotations

# Every flag of `deploy`, and where a manifest takes it: a per-stack key (in [defaults] or [stacks.NAME]), a flag of
# the same meaning on the manifest command itself, or the reason a manifest has none. A test holds these against
# deploy's parser, so a new deploy flag is a decision made here, never silently missing from manifests.
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
