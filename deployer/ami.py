"""AMI drift: an SSM-typed image parameter is resolved again on every update, so an update that changes only an
alarm threshold still rolls every instance onto a newly published AMI. Compare the AMI the stack resolved last
time (DescribeStacks' ResolvedValue) with what the SSM parameter holds now, and say so in the review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from cfnspec.update_outcomes import Outcome, outcome_of
from deployer.preflight.context import let_harness_errors_through
from deployer.runtime import Context

IMAGE_PARAMETER = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
CONSEQUENCE = {
    Outcome.ROLLS_INSTANCES: "the rolling update replaces every instance",
    Outcome.REPLACES: "the instances are replaced",
    Outcome.NEW_STACK: "the instances are replaced",
    Outcome.IN_PLACE: "new instances launch from it; the running ones stay on the old one",
}


@dataclass(frozen=True)
class AmiChange:
    parameter: str
    ssm_name: str
    before: str
    after: str
    consequence: str

    def line(self) -> str:
        return (
            f"the AMI changes from {self.before} to {self.after}: {self.consequence} "
            f"({self.parameter} resolves {self.ssm_name} again on this update)"
        )


def _ssm_names(
    doc: Mapping[str, Any], stack: Mapping[str, Any], parameters: Sequence[Mapping[str, Any]]
) -> dict[str, tuple[str, str]]:
    """Image parameter -> (SSM name this update resolves, AMI the stack resolved last time)."""
    given = {str(p.get("ParameterKey")): p for p in parameters}
    found = {}
    for entry in stack.get("Parameters") or []:
        name, resolved = str(entry.get("ParameterKey")), entry.get("ResolvedValue")
        spec = (doc.get("Parameters") or {}).get(name) or {}
        if not resolved or spec.get("Type") != IMAGE_PARAMETER:
            continue
        new = given.get(name) or {}
        ssm_name = (
            entry.get("ParameterValue") if new.get("UsePreviousValue") or not new else new["ParameterValue"]
        )
        found[name] = (str(ssm_name), str(resolved))
    return found


def ami_changes(
    ctx: Context,
    doc: Mapping[str, Any],
    stack: Mapping[str, Any] | None,
    parameters: Sequence[Mapping[str, Any]],
) -> list[AmiChange]:
    """The AMIs this update would change; an SSM parameter that cannot be read is a warning, not a failure."""
    if stack is None:
        return []
    changes = []
    for parameter, (ssm_name, before) in _ssm_names(doc, stack, parameters).items():
        try:
            after = str(ctx.client("ssm").get_parameter(Name=ssm_name)["Parameter"]["Value"])
        except (ClientError, BotoCoreError, ResponseParserError) as err:
            # A test's unexpected call fails the test instead of turning into a warning.
            let_harness_errors_through(err)
            ctx.say(
                f"WARNING: could not read SSM parameter {ssm_name} ({err}); whether this update changes the AMI of "
                f"{parameter} (now {before}) is unknown"
            )
            continue
        if after != before:
            consequence = CONSEQUENCE[outcome_of(doc, parameter, ctx.region).outcome]
            changes.append(AmiChange(parameter, ssm_name, before, after, consequence))
    return changes


def danger_lines(
    ctx: Context,
    doc: Mapping[str, Any],
    stack: Mapping[str, Any] | None,
    parameters: Sequence[Mapping[str, Any]],
) -> list[str]:
    return [change.line() for change in ami_changes(ctx, doc, stack, parameters)]
