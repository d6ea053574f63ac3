"""What one command was asked to do: plain data made by the argument parser and read by the engine.

It lives apart from both so that parsing arguments does not depend on orchestration, and the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.inputs import Template
from deployer.security_changes import Approval
from deployer.states import Flags


@dataclass(frozen=True)
class DeployOptions:
    stack_name: str
    template: Template
    parameters: dict[str, str | None] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)
    role_arn: str | None = None
    notification_arns: list[str] = field(default_factory=list)
    rollback_alarms: list[str] = field(default_factory=list)
    stack_policy: dict[str, Any] | None = None
    execute: bool = True
    fail_on_empty: bool = False
    disable_rollback: bool = False
    termination_protection: bool = False
    flags: Flags = field(default_factory=Flags)
    skip_resources: list[str] = field(default_factory=list)
    s3_bucket: str | None = None
    s3_prefix: str | None = None
    outputs_file: Path | None = None
    changeset_file: Path | None = None
    report_file: Path | None = None  # the change-set report as Markdown
    # Stateful resources this run may replace / remove (the data-loss guard refuses the others).
    allow_replacement: tuple[str, ...] = ()
    allow_removal: tuple[str, ...] = ()
    # --yes: on a terminal, execute without asking (off a terminal nobody can answer, so nothing is asked).
    assume_yes: bool = False
    # --skip-preflight turns this off: the account checks that run before the change set is created.
    preflight: bool = True
    # --on-failure: OnStackFailure for a stack being created (None: AWS's default, or --disable-rollback).
    on_failure: str | None = None
    # --revert-drift: DeploymentMode=REVERT_DRIFT on an update change set.
    revert_drift: bool = False
    # --import-existing-resources: a new stack first adopts the retained resources it names (deployer.importing).
    import_existing_resources: bool = False
    # --require-approval: which security changes need a yes at the prompt (off a terminal: exit 14).
    require_approval: Approval = Approval.BROADENING


@dataclass(frozen=True)
class ExecuteOptions:
    stack_name: str
    change_set_name: str
    disable_rollback: bool = False
    termination_protection: bool = False
    fail_on_empty: bool = False
    outputs_file: Path | None = None
    allow_replacement: tuple[str, ...] = ()
    allow_removal: tuple[str, ...] = ()
    require_approval: Approval = Approval.BROADENING
