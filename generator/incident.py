"""The hand-off page's incident section and the saved versions it goes back to.

Read first in an incident: what the stack is doing, stopping an update, finishing a failed rollback, going back
to the last good version, deleting a failed first create, and who to page. Every block stops at its first
failure without closing the reader's shell, and waits only after the call it waits for succeeded. Before every
update the page saves the deployed template and parameters in the template bucket under a dated name
(save_block); "back to the last good version" redeploys the newest of them through a change set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator import runbook
from generator.markdown import fenced, table
from generator.shell import guarded, not_rehearsable

Template = Mapping[str, Any]
OUT_OF_ORDER = "<!-- out-of-order: {reason} -->"
SAVED = "saved/$STACK_NAME"
PAGE_PLACEHOLDER = "TEAM TO FILL IN"


def out_of_order(reason: str) -> list[str]:
    """The mark that keeps a block out of the top-to-bottom rehearsal (a separate test runs it)."""
    return [OUT_OF_ORDER.format(reason=reason)]


def status_block() -> str:
    return guarded(
        [
            'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query 'Stacks[0].[StackStatus,StackStatusReason,LastUpdatedTime]' --output text",
            "# The newest 20 events, newest first: the first FAILED line is usually the cause.",
            'aws cloudformation describe-stack-events --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --max-items 20 --output text \\",
            "  --query 'StackEvents[].[Timestamp,LogicalResourceId,ResourceStatus,ResourceStatusReason]'",
        ]
    )


def cancel_block() -> str:
    # set -e: the waiter runs only when CloudFormation accepted the cancel (a stable stack refuses it at once).
    return guarded(
        [
            'aws cloudformation cancel-update-stack --region "$REGION" --stack-name "$STACK_NAME"',
            'echo "cancel accepted: waiting for the rollback (polls every 30 s, gives up after an hour)"',
            'aws cloudformation wait stack-rollback-complete --region "$REGION" --stack-name "$STACK_NAME"',
            'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query 'Stacks[0].StackStatus' --output text",
        ]
    )


def continue_block(skip: bool) -> str:
    extra = ' --resources-to-skip "$SKIP"' if skip else ""
    first = (
        [
            "SKIP=replace-with-the-logical-id  # from the FAILED events of the status block",
            'case "$SKIP" in replace-with-*) echo "set SKIP to the logical id first" >&2; exit 2 ;; esac',
        ]
        if skip
        else []
    )
    return guarded(
        [
            *first,
            f'aws cloudformation continue-update-rollback --region "$REGION" --stack-name "$STACK_NAME"{extra}',
            'echo "rollback continues: waiting (polls every 30 s, gives up after an hour)"',
            'aws cloudformation wait stack-rollback-complete --region "$REGION" --stack-name "$STACK_NAME"',
            'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query 'Stacks[0].StackStatus' --output text",
        ]
    )


def delete_failed_create_block() -> str:
    return guarded(
        [
            'STATUS=$(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query 'Stacks[0].StackStatus' --output text)",
            'if [ "$STATUS" != ROLLBACK_COMPLETE ]; then',
            '  echo "$STACK_NAME is $STATUS, not ROLLBACK_COMPLETE: not deleting it" >&2',
            "  exit 1",
            "fi",
            'aws cloudformation delete-stack --region "$REGION" --stack-name "$STACK_NAME"',
            'aws cloudformation wait stack-delete-complete --region "$REGION" --stack-name "$STACK_NAME"',
            'echo "$STACK_NAME deleted: remove what it retained (Tearing down), fix the cause, create it again"',
        ]
    )


def save_block() -> str:
    """The deployed template, parameters and tags, in the bucket under a dated name, and locally."""
    return guarded(
        [
            f'SAVED="{SAVED}/$(date -u +%Y%m%dT%H%M%SZ)"',
            'mkdir -p "$SAVED"',
            'aws cloudformation get-template --region "$REGION" --stack-name "$STACK_NAME" \\',
            '  --template-stage Original --query TemplateBody --output json > "$SAVED/template.json"',
            'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query 'Stacks[0].Parameters[].{ParameterKey: ParameterKey, ParameterValue: ParameterValue}' \\",
            '  --output json > "$SAVED/parameters.json"',
            'aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \\',
            "  --query 'Stacks[0].Tags || `[]`' --output json > \"$SAVED/tags.json\"",
            'aws s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1 || aws s3 mb "s3://$BUCKET" --region "$REGION"',
            'aws s3 cp --recursive "$SAVED" "s3://$BUCKET/$SAVED" --region "$REGION" --only-show-errors',
            'echo "saved the deployed version: s3://$BUCKET/$SAVED (and ./$SAVED)"',
        ]
    )


def back_block(name: str, t: Template, size: int) -> str:
    """The newest saved version, redeployed through a change set that is shown, not executed."""
    lines = [
        "# The newest version saved before an update, from the bucket (whoever saved it).",
        f'LAST=$( (aws s3 ls "s3://$BUCKET/{SAVED}/" --region "$REGION" || true) \\',
        "  | awk '$1 == \"PRE\" {print $2}' | sort | tail -n 1)",
        f'[ -n "$LAST" ] || {{ echo "nothing saved under s3://$BUCKET/{SAVED}/: no version to go back to" >&2; '
        "exit 1; }",
        "rm -rf last-good && mkdir last-good",
        f'aws s3 cp --recursive "s3://$BUCKET/{SAVED}/$LAST" last-good --region "$REGION" --only-show-errors',
        'echo "going back to the version saved at ${LAST%/}"',
        *runbook.upload_lines(name, size, "last-good/template.json"),
        "CHANGE_SET=back-$(date -u +%Y%m%d-%H%M%S)",
        *runbook.create_lines(
            t,
            "UPDATE",
            '--template-url "$TEMPLATE_URL"'
            if runbook.needs_upload(size)
            else "--template-body file://last-good/template.json",
            "last-good/parameters.json",
            "last-good/tags.json",
        ),
        *runbook.review_lines("UPDATE"),
    ]
    return guarded(lines)


def incident_section(name: str, t: Template, size: int) -> list[str]:
    return [
        "## In an incident",
        "",
        "Run the variables block of *Before the first command* first (once per shell): every block below "
        "refuses to start without it. Each block stops at its first failure and leaves your shell open; a "
        "wait runs only after the call before it succeeded, and gives up after an hour (the waiter's own "
        "limit). These blocks are for when you need them, not steps to run from top to bottom.",
        "",
        "### What is the stack doing?",
        "",
        "Its status and the newest events (a `FAILED` line names the resource and the reason):",
        "",
        *out_of_order("rehearsed by tests/integration/test_handoff_incident.py"),
        *fenced("sh", status_block()),
        "",
        "| Status | What to do |",
        "|---|---|",
        "| `UPDATE_IN_PROGRESS` for too long (an instance never turns healthy) | Cancel the update (below). |",
        "| `UPDATE_ROLLBACK_FAILED` | Continue the rollback (below). |",
        "| `UPDATE_ROLLBACK_COMPLETE` | The stack is back on the version before the update: nothing to undo. |",
        "| `UPDATE_COMPLETE` but the application is broken | Go back to the last good version (below). |",
        "| `ROLLBACK_COMPLETE` | The first create failed: delete the stack (below), then create it again. |",
        "| `*_IN_PROGRESS` otherwise | Wait: run the status block again in a minute. |",
        "",
        "### Cancel an update",
        "",
        "Only an `UPDATE_IN_PROGRESS` stack can be cancelled: CloudFormation rolls it back to the version "
        "before the update (`UPDATE_ROLLBACK_COMPLETE`). On any other status the cancel is refused at once "
        "and the block stops there.",
        "",
        *out_of_order("rehearsed by tests/integration/test_handoff_incident.py"),
        *fenced("sh", cancel_block()),
        "",
        "### Continue a failed rollback",
        "",
        "`UPDATE_ROLLBACK_FAILED`: a resource could not go back (often one changed or deleted outside "
        "CloudFormation). Fix it if you can, then continue:",
        "",
        *out_of_order("rehearsed by tests/integration/test_handoff_incident.py"),
        *fenced("sh", continue_block(skip=False)),
        "",
        "If it fails again on the same resource, skip it (its logical id from the status block's `FAILED` "
        "events); the stack then no longer matches that resource, so check it by hand afterwards:",
        "",
        *not_rehearsable("needs a stack in UPDATE_ROLLBACK_FAILED, which the emulator never reaches"),
        *fenced("sh", continue_block(skip=True)),
        "",
        "### Go back to the last good version",
        "",
        "Before every update the page saves the deployed template and parameters (*Updating an existing stack*, "
        f"first block) in the template bucket under `{SAVED}/DATE/`. This block takes the newest of them, "
        "uploads the template under its sha256, and creates and shows a change set back to it; nothing "
        "changes yet. Then run the execute block after it.",
        "",
        *out_of_order("rehearsed by tests/integration/test_handoff_incident.py"),
        *fenced("sh", back_block(name, t, size)),
        "",
        *out_of_order("rehearsed by tests/integration/test_handoff_incident.py"),
        *fenced("sh", runbook.execute_block("UPDATE")),
        "",
        "### Delete a failed first create",
        "",
        "A stack in `ROLLBACK_COMPLETE` cannot be updated, only deleted. The block deletes it only in that "
        "status; what it retained stays (see *Tearing down*).",
        "",
        *out_of_order("rehearsed by tests/integration/test_handoff_incident.py"),
        *fenced("sh", delete_failed_create_block()),
        "",
        "### Who to page",
        "",
        f"**{PAGE_PLACEHOLDER}**: the team replaces these rows before the page is handed over.",
        "",
        *table(
            ["When", "Who", "How"],
            [
                ["The stack or the application is down", PAGE_PLACEHOLDER, PAGE_PLACEHOLDER],
                ["A rollback failed or data may be lost", PAGE_PLACEHOLDER, PAGE_PLACEHOLDER],
                ["AWS itself (an AWS Support case)", PAGE_PLACEHOLDER, PAGE_PLACEHOLDER],
            ],
        ),
        "",
    ]
