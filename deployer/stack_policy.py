"""The default stack policy, and the temporary opening of a policy for resources the user allowed to change.

ExecuteChangeSet takes no StackPolicyDuringUpdateBody (only UpdateStack does), so an allowed replacement is
carried out by setting a policy that also allows the named resources, executing, and setting the previous policy
again afterwards, whether the execution succeeded or not.

A run can die between the two (SIGKILL, a lost runner), so an opened policy carries a marker statement with the
policy to set back: any later run recognises the opening and closes it. The marker uses only the documented stack
policy elements: a Deny whose Resource can never match (logical ids are alphanumeric, the marker has a colon) and
whose text is the original policy, compressed and base64url-encoded.
"""

from __future__ import annotations

import base64
import binascii
import copy
import fnmatch
import json
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from deployer.errors import BadInput, NeedsDecision
from deployer.guard import stateful_resources

DENIED_ACTIONS = ["Update:Replace", "Update:Delete"]


def resource_arn(logical_id: str) -> str:
    return f"LogicalResourceId/{logical_id}"


def default_policy(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """Deny replacing or deleting the template's stateful resources; allow every other update. None: none."""
    ids = sorted(stateful_resources(doc))
    if not ids:
        return None
    return {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(DENIED_ACTIONS),
                "Resource": [resource_arn(i) for i in ids],
            },
            {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"},
        ]
    }


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def opened_for(policy: Mapping[str, Any], logical_ids: Iterable[str]) -> dict[str, Any]:
    """The same policy, with the named resources taken out of its Deny statements and explicitly allowed, and
    marked as an opening that carries the policy to set back.

    A Deny always wins over an Allow in a stack policy, so adding an Allow alone would open nothing. A Deny that
    names the resources only through a wildcard cannot be narrowed safely: that is the user's policy to rewrite.
    An opening left by an earlier run is opened from the policy it carries, so openings never nest.
    """
    policy = original_of(policy) or policy
    names = {resource_arn(i) for i in logical_ids}
    opened = copy.deepcopy(dict(policy))
    statements = []
    for statement in _as_list(opened.get("Statement") or []):
        if statement.get("Effect") != "Deny" or "Resource" not in statement:
            statements.append(statement)
            continue
        kept = [r for r in _as_list(statement["Resource"]) if r not in names]
        wild = [r for r in kept if "*" in str(r) and any(_matches(str(r), n) for n in names)]
        if wild:
            raise BadInput(
                f"the stack policy denies {', '.join(sorted(names))} through the wildcard {wild[0]}, so it "
                "cannot be opened for this update alone",
                hint="name the protected resources one by one in the --stack-policy-file policy",
            )
        if kept:
            statements.append({**statement, "Resource": kept})
    statements.append({"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": sorted(names)})
    statements.append(_marker(policy))
    opened["Statement"] = statements
    return opened


# Never a logical id (those are alphanumeric), so the marker's Deny matches no resource and changes nothing.
MARKER = resource_arn("TapDeployTemporaryOpening:")


def _marker(original: Mapping[str, Any]) -> dict[str, Any]:
    packed = zlib.compress(json.dumps(original, sort_keys=True, separators=(",", ":")).encode(), 9)
    text = base64.urlsafe_b64encode(packed).decode()
    return {"Effect": "Deny", "Principal": "*", "Action": "Update:*", "Resource": [MARKER + text]}


def original_of(policy: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The policy an opening carries to be set back; None for a policy that is not an opening of this tool."""
    for statement in _as_list((policy or {}).get("Statement") or []):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
            continue
        for resource in _as_list(statement.get("Resource") or []):
            if isinstance(resource, str) and resource.startswith(MARKER):
                return _unpack(resource[len(MARKER) :])
    return None


def _unpack(text: str) -> dict[str, Any]:
    try:
        original = json.loads(zlib.decompress(base64.urlsafe_b64decode(text.encode())))
    except (binascii.Error, zlib.error, ValueError) as err:
        raise NeedsDecision(
            "the stack policy is marked as opened by deploy.py but the policy to set back cannot be read",
            hint="set the stack policy by hand with `aws cloudformation set-stack-policy`, then run again",
        ) from err
    if not isinstance(original, dict):
        raise NeedsDecision(
            "the stack policy is marked as opened by deploy.py but carries no policy to set back",
            hint="set the stack policy by hand with `aws cloudformation set-stack-policy`, then run again",
        )
    return original


def _matches(pattern: str, text: str) -> bool:
    return fnmatch.fnmatchcase(text, pattern)
