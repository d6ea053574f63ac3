"""The default stack policy, and the temporary opening of a policy for resources the user allowed to change.

ExecuteChangeSet takes no StackPolicyDuringUpdateBody (only UpdateStack does), so an allowed replacement is
carried out by setting a policy that also allows the named resources, executing, and setting the previous policy
again afterwards, whether the execution succeeded or not.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from deployer.errors import BadInput
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
    """The same policy, with the named resources taken out of its Deny statements and explicitly allowed.

    A Deny always wins over an Allow in a stack policy, so adding an Allow alone would open nothing. A Deny that
    names the resources only through a wildcard cannot be narrowed safely: that is the user's policy to rewrite.
    """
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
    opened["Statement"] = statements
    return opened


def _matches(pattern: str, text: str) -> bool:
    return fnmatch.fnmatchcase(text, pattern)
