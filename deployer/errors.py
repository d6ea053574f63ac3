"""Exit codes and the exceptions that carry them.

Every failure the CLI reports is one of these exceptions: a one-line message a user can act on, and the exit code
that tells CI what happened. The CLI prints the message and returns the code; nothing else decides exit codes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    SUCCESS = 0  # deployed, or nothing to change
    INTERNAL_ERROR = 1  # a bug: unexpected exception
    BAD_INPUT = 2  # arguments, template or parameters rejected before anything changed
    STACK_FAILED = 3  # the stack operation failed or rolled back (root cause printed)
    TIMED_OUT = 4  # stopped waiting; the stack operation continues untouched
    AWS_ERROR = 5  # AWS API or network error, or throttling that outlasted the retries
    NEEDS_DECISION = 6  # the stack is in a state that needs an explicit flag or a manual fix
    CHANGE_SET_FAILED = 7  # the change set failed for a reason other than "no changes"
    CHANGES_PRESENT = 8  # review mode, or "no" at the prompt: a change set is ready to execute
    EMPTY_CHANGE_SET = 9  # no changes, and --fail-on-empty-changeset was given
    DATA_LOSS_REFUSED = 10  # a stateful resource would be replaced or removed and no flag allows it
    DRIFTED = 11  # drift: at least one resource differs from the template
    DRIFT_UNKNOWN = 12  # drift: detection failed or did not finish in time
    PREFLIGHT_FAILED = 13  # a preflight check failed; nothing was changed
    APPROVAL_REQUIRED = 14  # security changes need approval (--require-approval) and there is no terminal
    INTERRUPTED = 130  # Ctrl-C: the stack was left alone
    TERMINATED = 143  # SIGTERM (a cancelled CI job): the stack was left alone


EXIT_CODE_HELP: dict[ExitCode, str] = {
    ExitCode.SUCCESS: "success, or nothing to change (a review that finds changes exits 8)",
    ExitCode.INTERNAL_ERROR: "unexpected internal error (a bug: please report it with the traceback)",
    ExitCode.BAD_INPUT: "bad input: arguments, region, template, parameters, tags or a missing --s3-bucket "
    "rejected, or a parameter change that needs a new stack; nothing was changed",
    ExitCode.STACK_FAILED: "the stack operation failed or rolled back; the root cause is printed",
    ExitCode.TIMED_OUT: "timed out waiting; the operation continues, run the same command again to resume",
    ExitCode.AWS_ERROR: "AWS API or network error (throttling, 5xx, a proxy's error page, dropped connections, "
    "missing or expired credentials) that outlasted the retries; what was left behind is printed, and the command "
    "to run again where that can succeed. Also: a stack policy opened for an execution could not be set back (the "
    "set-stack-policy command that closes it is printed)",
    ExitCode.NEEDS_DECISION: "the stack's state needs an explicit decision; the command to run is printed",
    ExitCode.CHANGE_SET_FAILED: "the change set failed for a reason other than 'no changes'",
    ExitCode.CHANGES_PRESENT: "review mode (plan / --no-execute-changeset), or execution declined at the "
    "prompt: changes are ready to execute",
    ExitCode.EMPTY_CHANGE_SET: "no changes and --fail-on-empty-changeset was given",
    ExitCode.DATA_LOSS_REFUSED: "refused: a stateful resource would be replaced or removed; the change set is "
    "kept, the resource and the --allow-replacement / --allow-removal flag are printed",
    ExitCode.DRIFTED: "drift: at least one resource differs from the template (the differences are printed)",
    ExitCode.DRIFT_UNKNOWN: "drift: detection failed or did not finish, or the endpoint does not implement it, so "
    "whether the stack drifted is unknown",
    ExitCode.PREFLIGHT_FAILED: "a preflight check failed (preflight, or deploy/plan before the change set); "
    "nothing was changed, the fix is printed",
    ExitCode.APPROVAL_REQUIRED: "refused: security changes (IAM statements, key / bucket / topic policies, "
    "security-group rules) need approval under --require-approval (default broadening) and there is no terminal to "
    "ask; the change set is kept, the changes and the command with --require-approval never are printed",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); the stack was left alone, run the same command to resume",
    ExitCode.TERMINATED: "terminated (SIGTERM, e.g. a cancelled CI job); the stack was left alone, the state it "
    "was left in and the command that resumes are printed",
}


class DeployError(Exception):
    """Base class: a message for the user and the exit code for CI."""

    exit_code: ExitCode = ExitCode.INTERNAL_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        # One line, problem then fix: CI logs are grepped line by line.
        return f"{self.message}; hint: {self.hint}" if self.hint else self.message


class BadInput(DeployError):
    exit_code = ExitCode.BAD_INPUT


class StackFailed(DeployError):
    exit_code = ExitCode.STACK_FAILED


class WaitTimedOut(DeployError):
    exit_code = ExitCode.TIMED_OUT


class AwsApiError(DeployError):
    exit_code = ExitCode.AWS_ERROR

    def __init__(self, message: str, *, hint: str | None = None, rerun_helps: bool = True) -> None:
        super().__init__(message, hint=hint)
        # False when running the same command again cannot succeed until something else changes (a permission,
        # a refused request): the CLI then prints what was left behind, but not "run the same command again".
        self.rerun_helps = rerun_helps


class NeedsDecision(DeployError):
    exit_code = ExitCode.NEEDS_DECISION


class ChangeSetFailed(DeployError):
    exit_code = ExitCode.CHANGE_SET_FAILED


class EmptyChangeSet(DeployError):
    exit_code = ExitCode.EMPTY_CHANGE_SET


class DriftUnknown(DeployError):
    exit_code = ExitCode.DRIFT_UNKNOWN


class PreflightFailed(DeployError):
    exit_code = ExitCode.PREFLIGHT_FAILED


class DataLossRefused(DeployError):
    exit_code = ExitCode.DATA_LOSS_REFUSED


class ApprovalRequired(DeployError):
    exit_code = ExitCode.APPROVAL_REQUIRED
