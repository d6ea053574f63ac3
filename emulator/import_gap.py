"""IMPORT change sets, which moto (5.2) does not implement: it treats ChangeSetType=IMPORT like a CREATE, ignores
ResourcesToImport and, on execute, creates every resource of the template again (a bucket or log group of the same
name is replaced by an empty one) and ends in "IMPORT_COMPLETE" without having adopted anything.

Taught here as AWS documents it for a new stack ("Importing existing resources into a stack"): the change set lists
one Import per resource; it fails when the template holds a resource that is not being imported, when an imported
resource has no DeletionPolicy, or when the resource does not exist. Executing it records the existing resources
in the stack (IMPORT_IN_PROGRESS, IMPORT_COMPLETE) and changes nothing about them. The status reasons are the
emulator's own wording. Importing into a stack that exists is not emulated and is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from weakref import WeakKeyDictionary

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.kms.models import kms_backends
from moto.logs.models import logs_backends
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

IMPORT = "IMPORT"
# ResourcesToImport of each IMPORT change set (moto's ChangeSet has no place for them).
_TO_IMPORT: WeakKeyDictionary[ChangeSet, list[dict[str, Any]]] = WeakKeyDictionary()


def _find_bucket(account: str, region: str, name: str) -> Any:
    return s3_backends[account][get_partition(region)].buckets.get(name)


def _find_log_group(account: str, region: str, name: str) -> Any:
    return logs_backends[account][region].groups.get(name)


def _find_key(account: str, region: str, key_id: str) -> Any:
    backend = kms_backends[account][region]
    return backend.keys.get(backend.any_id_to_key_id(key_id))


def _find_alias(account: str, region: str, name: str) -> Any:
    for key in kms_backends[account][region].keys.values():
        if name in key.aliases:
            return key.aliases[name]
    return None


FINDERS: dict[str, Callable[[str, str, str], Any]] = {
    "AWS::S3::Bucket": _find_bucket,
    "AWS::Logs::LogGroup": _find_log_group,
    "AWS::KMS::Key": _find_key,
    "AWS::KMS::Alias": _find_alias,
}


def _existing(item: Mapping[str, Any], account: str, region: str) -> Any:
    finder = FINDERS.get(str(item.get("ResourceType")))
    identifier = list((item.get("ResourceIdentifier") or {}).values())
    if finder is None or len(identifier) != 1:
        return None
    return finder(account, region, str(identifier[0]))


def import_problem(
    template: Mapping[str, Any], to_import: list[dict[str, Any]], account: str, region: str
) -> str:
    """Why AWS would fail this IMPORT change set for a new stack ("" when it would not)."""
    resources = template.get("Resources") or {}
    named = {str(item.get("LogicalResourceId")) for item in to_import}
    extra = sorted(set(resources) - named)
    if extra:
        return f"Resources {extra} are in the template but not in ResourcesToImport"
    missing = sorted(named - set(resources))
    if missing:
        return f"Resources {missing} in ResourcesToImport are not in the template"
    without_policy = sorted(lid for lid in named if "DeletionPolicy" not in resources[lid])
    if without_policy:
        return f"Resources {without_policy} to import must have a DeletionPolicy attribute"
    for item in to_import:
        if item.get("ResourceType") != resources[item["LogicalResourceId"]].get("Type"):
            return f"ResourceType of {item['LogicalResourceId']} does not match the template"
        if _existing(item, account, region) is None:
            return (
                f"Resource {item.get('ResourceIdentifier')} of type {item.get('ResourceType')} does not exist"
            )
    return ""


def _create_change_set(original: Any) -> Any:
    def create_change_set(self: CloudFormationResponse) -> Any:
        if self._get_param("ChangeSetType") != IMPORT:
            return original(self)
        backend: CloudFormationBackend = self.cloudformation_backend
        stack_name = self._get_param("StackName")
        if any(s.name == stack_name and s.status != "REVIEW_IN_PROGRESS" for s in backend.stacks.values()):
            raise ValidationError(stack_name, "the emulator imports only into a new stack")
        to_import = list(self._get_param("ResourcesToImport", []))
        result = original(self)  # a REVIEW_IN_PROGRESS stack and a change set that would create everything
        name = self._get_param("ChangeSetName")
        change_set = [c for c in backend.change_sets.values() if c.change_set_name == name][-1]
        _TO_IMPORT[change_set] = to_import
        for change in change_set.changes:
            change.action = "Import"
        problem = import_problem(change_set.template_dict, to_import, backend.account_id, backend.region_name)
        if problem:
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.status_reason = problem
        return result

    return create_change_set


def _execute_import(backend: CloudFormationBackend, change_set: ChangeSet) -> None:
    stack = backend.stacks[change_set.stack_id]
    stack._add_stack_event("IMPORT_IN_PROGRESS", resource_status_reason="User Initiated")
    resource_map = stack.resource_map
    template = change_set.template_dict
    # What ResourceMap.update does before it creates anything, without creating anything.
    resource_map._template = template
    resource_map.input_parameters = change_set.parameters
    resource_map.load_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()
    resource_map._resource_json_map = template["Resources"]
    for item in _TO_IMPORT.get(change_set, []):
        found = _existing(item, backend.account_id, backend.region_name)
        found.logical_resource_id = item["LogicalResourceId"]
        found.cf_resource_type = item["ResourceType"]
        resource_map._parsed_resources[item["LogicalResourceId"]] = found
    stack._add_stack_event("IMPORT_COMPLETE")
    change_set.execution_status = "EXECUTE_COMPLETE"
    stack.status = "IMPORT_COMPLETE"
    stack.template = change_set.template
    stack._parse_template()


def _execute_change_set(original: Any) -> Any:
    def execute_change_set(
        self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
    ) -> Any:
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        if change_set is None or change_set.change_set_type != IMPORT:
            return original(self, change_set_name, stack_name)
        _execute_import(self, change_set)
        return None

    return execute_change_set


def patch() -> None:
    """Applied by emulator.gaps.patch_moto, after its own patches (it wraps what they left in place)."""
    # setattr: mypy refuses assigning to a method, ruff (B010) a constant setattr without this note.
    setattr(  # noqa: B010
        CloudFormationResponse,
        "create_change_set",
        _create_change_set(CloudFormationResponse.create_change_set),
    )
    setattr(  # noqa: B010
        CloudFormationBackend,
        "execute_change_set",
        _execute_change_set(CloudFormationBackend.execute_change_set),
    )
