"""Security changes between the deployed template and the new one, as `cdk deploy` shows them for approval.

IAM statements (inline policies of roles, policies and managed policies, a role's trust policy), KMS key policies,
bucket and topic policies, and security-group rules are compared one statement / rule at a time, both templates
resolved with their own parameters (resources named symbolically, so the same Ref is equal on both sides).
A change is broadening when it lets in something the deployed template did not: an Allow statement, or an ingress /
egress rule, that no deployed one covers, or a Deny statement removed without a new one covering it. Coverage is
decided with the policy evaluator (cfnspec.policy): a statement narrower than an existing one is not broadening.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cfnspec import policy
from cfnspec.resolve import Scope, present, resolve

WORLD = frozenset({"0.0.0.0/0", "::/0"})


class Approval(StrEnum):
    """--require-approval, with CDK's names: which security changes need a person to say yes."""

    NEVER = "never"
    BROADENING = "broadening"
    ANY_CHANGE = "any-change"


@dataclass(frozen=True)
class SecurityChange:
    logical_id: str
    resource_type: str
    where: str  # the property that holds it: "Policies[AppAccess]", "AssumeRolePolicyDocument", "SecurityGroupIngress"
    kind: str  # "statement" or "ingress" / "egress"
    before: Any  # the statement or rule as deployed, None when it is new
    after: Any  # as the new template has it, None when it goes
    broadening: bool
    open_to_world: bool = False  # an ingress / egress rule for 0.0.0.0/0 or ::/0

    def describe(self) -> str:
        change = "added" if self.before is None else "removed" if self.after is None else "changed"
        world = " (open to the world)" if self.open_to_world else ""
        what = "broadening" if self.broadening else "not broadening"
        return f"{self.logical_id} {self.where}: {self.kind} {change}{world}, {what}"

    def to_json(self) -> dict[str, Any]:
        return {
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "Where": self.where,
            "Kind": self.kind,
            "Before": self.before,
            "After": self.after,
            "Broadening": self.broadening,
            "OpenToWorld": self.open_to_world,
        }


def needs_approval(changes: Sequence[SecurityChange], level: Approval) -> list[SecurityChange]:
    if level is Approval.NEVER:
        return []
    return [c for c in changes if c.broadening or level is Approval.ANY_CHANGE]


# Resource type -> (property path, kind) pairs; a path names a policy document, or a list of rules.
_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Role": ("AssumeRolePolicyDocument",),
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
}
_RULE_RESOURCES = {"AWS::EC2::SecurityGroupIngress": "ingress", "AWS::EC2::SecurityGroupEgress": "egress"}
_GROUP_RULES = {"SecurityGroupIngress": "ingress", "SecurityGroupEgress": "egress"}
# What makes a standalone rule a rule rather than where it is attached.
_NOT_RULE = frozenset({"GroupId", "GroupName"})
TYPES = frozenset({*_DOCUMENTS, *_RULE_RESOURCES, "AWS::EC2::SecurityGroup"})
# Resources whose statements or rules guard the resource itself: when the resource leaves the stack, what its policy
# denied goes with it (deleted) or stays as it is (retained), so losing its Deny opens nothing. A standalone policy
# (a bucket or topic policy, an IAM policy attached to roles) is different: removing it opens what it guarded.
_SELF_GUARDING = frozenset({"AWS::IAM::Role", "AWS::EC2::SecurityGroup", "AWS::KMS::Key"})


def has_security_resources(*docs: Mapping[str, Any] | None) -> bool:
    return any(
        isinstance(r, Mapping) and r.get("Type") in TYPES
        for doc in docs
        for r in ((doc or {}).get("Resources") or {}).values()
    )


def _plain(value: Any) -> Any:
    """Resolved values with the resolver's markers as text, so they compare, print and serialise."""
    return json.loads(json.dumps(value, default=repr))


def _items(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str, list[Any]]]:
    """(where, kind, statements or rules) of one resource's resolved properties."""
    for path in _DOCUMENTS.get(resource_type, ()):
        yield path, "statement", _statements(props.get(path))
    if resource_type == "AWS::IAM::Role":
        for inline in policy.as_list(props.get("Policies")):
            if isinstance(inline, Mapping):
                name = inline.get("PolicyName", "?")
                yield f"Policies[{name}]", "statement", _statements(inline.get("PolicyDocument"))
    if resource_type == "AWS::EC2::SecurityGroup":
        for path, kind in _GROUP_RULES.items():
            rules = [r for r in policy.as_list(props.get(path)) if isinstance(r, Mapping)]
            yield path, kind, rules
    if resource_type in _RULE_RESOURCES:
        yield "Rule", _RULE_RESOURCES[resource_type], [{k: v for k, v in props.items() if k not in _NOT_RULE}]


def _statements(document: Any) -> list[Any]:
    if isinstance(document, str):  # a policy document may be given as JSON text
        try:
            document = json.loads(document)
        except ValueError:
            return [document]
    if not isinstance(document, Mapping):
        return []
    return [s for s in policy.as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _collect(
    doc: Mapping[str, Any] | None, scope: Scope | None
) -> dict[tuple[str, str], tuple[str, str, list[Any]]]:
    """(logical id, where) -> (resource type, kind, items) for every security resource present in the template."""
    found: dict[tuple[str, str], tuple[str, str, list[Any]]] = {}
    if doc is None or scope is None:
        return found
    for logical_id, resource in (doc.get("Resources") or {}).items():
        if not isinstance(resource, Mapping) or resource.get("Type") not in TYPES:
            continue
        if present(resource, scope) is False:  # a Condition that is undecided keeps the resource in view
            continue
        props = _plain(resolve(resource.get("Properties") or {}, scope))
        rtype = str(resource["Type"])
        for where, kind, items in _items(rtype, props if isinstance(props, Mapping) else {}):
            found[(str(logical_id), where)] = (rtype, kind, items)
    return found


def security_changes(
    old_doc: Mapping[str, Any] | None,
    old_scope: Scope | None,
    new_doc: Mapping[str, Any],
    new_scope: Scope,
) -> list[SecurityChange]:
    """Every statement and rule added, removed or changed; old_doc None for a stack being created."""
    old, new = _collect(old_doc, old_scope), _collect(new_doc, new_scope)
    staying = {logical_id for logical_id, _ in new}
    changes: list[SecurityChange] = []
    for key in sorted(set(old) | set(new)):
        rtype, kind, _ = new.get(key) or old[key]
        before = old.get(key, (rtype, kind, []))[2]
        after = new.get(key, (rtype, kind, []))[2]
        leaving = rtype in _SELF_GUARDING and key[0] not in staying
        for was, now in _pairs(before, after):
            broadening = not leaving and _broadening(kind, was, now, before, after)
            world = kind != "statement" and now is not None and _world(now)
            changes.append(SecurityChange(key[0], rtype, key[1], kind, was, now, broadening, world))
    return changes


def _pairs(before: list[Any], after: list[Any]) -> list[tuple[Any, Any]]:
    """Added, removed and changed items: an edited statement is paired with its old self by Sid, else by order."""
    gone = [b for b in before if b not in after]
    came = [a for a in after if a not in before]
    pairs: list[tuple[Any, Any]] = []
    for item in list(came):
        sid = item.get("Sid") if isinstance(item, Mapping) else None
        same = next((b for b in gone if sid and isinstance(b, Mapping) and b.get("Sid") == sid), None)
        if same is not None:
            pairs.append((same, item))
            gone.remove(same)
            came.remove(item)
    for was, now in zip(gone, came, strict=False):
        pairs.append((was, now))
    pairs += [(None, now) for now in came[len(gone) :]]
    pairs += [(was, None) for was in gone[len(came) :]]
    return pairs


def _broadening(kind: str, was: Any, now: Any, before: list[Any], after: list[Any]) -> bool:
    if kind != "statement":  # a rule lets traffic in (or out): one no deployed rule covers is broadening
        return now is not None and not any(_rule_covers(old, now) for old in before)
    if (
        now is not None
        and now.get("Effect") == "Allow"
        and not any(_statement_covers(o, now) for o in before)
    ):
        return True
    # A Deny that goes (or is edited) lets in whatever it denied, unless a Deny in the new template still covers it.
    return (
        was is not None
        and was.get("Effect") == "Deny"
        and not any(_statement_covers(n, was) for n in after if n.get("Effect") == "Deny")
    )


def _principals(spec: Any) -> list[policy.Principal] | None:
    if spec is None:
        return []
    if spec == "*":
        return [policy.Principal("AWS", "*")]
    if not isinstance(spec, Mapping):
        return None
    return [policy.Principal(str(k), str(v)) for k, values in spec.items() for v in policy.as_list(values)]


def _statement_covers(wider: Mapping[str, Any], narrower: Mapping[str, Any]) -> bool:
    """Whether `wider` matches every request `narrower` matches (same effect); False when that is not sure."""
    if wider.get("Effect") != narrower.get("Effect"):
        return False
    if any(k in wider or k in narrower for k in ("NotAction", "NotResource", "NotPrincipal")):
        return dict(wider) == dict(narrower)
    actions = [str(a) for a in policy.as_list(wider.get("Action"))]
    if not all(policy.action_matches(actions, str(a)) for a in policy.as_list(narrower.get("Action"))):
        return False
    resources = [str(r) for r in policy.as_list(wider.get("Resource", "*"))]
    if not all(
        policy.pattern_matches(resources, str(r)) for r in policy.as_list(narrower.get("Resource", "*"))
    ):
        return False
    if not _principals_cover(wider.get("Principal"), narrower.get("Principal")):
        return False
    # Every condition of the wider statement must also bind the narrower one (more conditions: fewer requests).
    wider_conditions = wider.get("Condition") or {}
    narrower_conditions = narrower.get("Condition") or {}
    return all(
        key in (narrower_conditions.get(op) or {})
        and set(map(str, policy.as_list(narrower_conditions[op][key])))
        <= set(map(str, policy.as_list(expected)))
        for op, pairs in wider_conditions.items()
        for key, expected in (pairs or {}).items()
    )


def _principals_cover(wider: Any, narrower: Any) -> bool:
    if wider is None and narrower is None:  # identity policies name no principal
        return True
    wide, narrow = _principals(wider), _principals(narrower)
    if wide is None or narrow is None or not narrow:
        return wider == narrower
    return all(
        p in wide or policy.principal_matches(wider, policy.Request(p, "")) or _under_root(wide, p)
        for p in narrow
    )


def _under_root(wide: list[policy.Principal], principal: policy.Principal) -> bool:
    """An account root (with the account's IAM policies deciding) covers every principal of that account."""
    account = principal.value.split(":")[4] if principal.value.count(":") >= 4 else None
    return principal.kind == "AWS" and any(
        w.kind == "AWS" and policy.is_account_root(w.value) and account and account in w.value for w in wide
    )


def _ports(rule: Mapping[str, Any]) -> tuple[int, int]:
    try:
        return int(rule.get("FromPort", -1)), int(rule.get("ToPort", -1))
    except (TypeError, ValueError):
        return -2, -2  # unresolved: equal only to the same text


def _rule_covers(wider: Mapping[str, Any], narrower: Mapping[str, Any]) -> bool:
    if wider == narrower:
        return True
    protocol = str(wider.get("IpProtocol", ""))
    if protocol not in {"-1", str(narrower.get("IpProtocol", ""))}:
        return False
    if protocol != "-1":
        (low, high), (from_port, to_port) = _ports(wider), _ports(narrower)
        if min(low, high, from_port, to_port) < -1 or (low != -1 and not low <= from_port <= to_port <= high):
            return False
    return _source_covers(wider, narrower)


_SOURCES = (
    "CidrIp",
    "CidrIpv6",
    "SourceSecurityGroupId",
    "SourcePrefixListId",
    "DestinationSecurityGroupId",
    "DestinationPrefixListId",
    "SourceSecurityGroupName",
)


def _within(narrow: Any, wide: Any) -> bool:
    try:
        inner, outer = (
            ipaddress.ip_network(str(narrow), strict=False),
            ipaddress.ip_network(str(wide), strict=False),
        )
    except ValueError:  # unresolved: only the same text covers it
        return str(narrow) == str(wide)
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _source_covers(wider: Mapping[str, Any], narrower: Mapping[str, Any]) -> bool:
    for key in ("CidrIp", "CidrIpv6"):
        if key in narrower:
            return key in wider and _within(narrower[key], wider[key])
    return all(wider.get(k) == narrower.get(k) for k in _SOURCES)


def _world(rule: Any) -> bool:
    return isinstance(rule, Mapping) and (rule.get("CidrIp") in WORLD or rule.get("CidrIpv6") in WORLD)
