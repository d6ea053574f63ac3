"""Single API calls moto answers differently from AWS (moto-notes "Found later"), answered as AWS does.

- GetTemplate with ChangeSetName returned the stack's template, so `deploy.py execute` compared the deployed
  template with itself: it must return the change set's.
- DescribeStackResources with LogicalResourceId answered HTTP 500 when the stack had a resource moto never built
  (a false Condition, a type it skips): moto keeps None for it in the stack's resource map.
- ScheduleKeyDeletion and CancelKeyDeletion took a key id only: a key ARN answered HTTP 500. AWS takes either and
  answers with the key's ARN.
- CancelUpdateStack and ContinueUpdateRollback were not implemented (HTTP 500). moto never leaves a stack in
  UPDATE_IN_PROGRESS or UPDATE_ROLLBACK_FAILED, so every stack it has is in a status from which AWS refuses both
  with a ValidationError, as answered here; a missing stack is refused as AWS does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult
from moto.kms.responses import KmsResponse


def _change_set_of(response: CloudFormationResponse, stack_name: str, name: str) -> ChangeSet:
    """A change set by ARN, or by name within the named stack (two stacks may have change sets of one name)."""
    change_sets = response.cloudformation_backend.change_sets
    if name in change_sets:
        return change_sets[name]
    for change_set in change_sets.values():
        if change_set.change_set_name == name and stack_name in (change_set.stack_name, change_set.stack_id):
            return change_set
    raise ValidationError(name, message=f"ChangeSet [{name}] does not exist")


def get_template(self: CloudFormationResponse) -> ActionResult:
    name = self._get_param("ChangeSetName")
    stack_name = self._get_param("StackName")
    body: Any
    if name:
        body = _change_set_of(self, stack_name, name).template
    else:
        body = self.cloudformation_backend.get_template(stack_name)
    return ActionResult({"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]})


def _built_resources(original: Any) -> Any:
    # Every caller (ListStackResources, DescribeStackResource(s)) reads logical_resource_id from each entry.
    def stack_resources(self: Stack) -> Iterable[Any]:
        return [resource for resource in original.fget(self) if resource is not None]

    return property(stack_resources)


def _key_arn(response: KmsResponse, key_id: str) -> tuple[str, str]:
    raw = response.kms_backend.any_id_to_key_id(key_id)
    return raw, response.kms_backend.keys[raw].arn


def schedule_key_deletion(self: KmsResponse) -> str:
    key_id = self._get_param("KeyId")
    days = self._get_param("PendingWindowInDays")
    days = 30 if days is None else int(days)
    self._validate_cmk_id(key_id)
    raw, arn = _key_arn(self, key_id)
    deletion = self.kms_backend.schedule_key_deletion(raw, days)
    state = self.kms_backend.keys[raw].key_state
    return json.dumps(
        {"KeyId": arn, "DeletionDate": deletion, "KeyState": state, "PendingWindowInDays": days}
    )


def cancel_key_deletion(self: KmsResponse) -> str:
    key_id = self._get_param("KeyId")
    self._validate_cmk_id(key_id)
    raw, arn = _key_arn(self, key_id)
    self.kms_backend.cancel_key_deletion(raw)
    return json.dumps({"KeyId": arn})


def _refused_outside(action: str, status: str) -> Any:
    def call(self: CloudFormationResponse) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        if stack.status == status:  # never reached in moto; kept so the answer cannot be wrong if it is
            raise NotImplementedError(f"{action} of a stack in {status}")
        raise ValidationError(stack.name, message=f"{action} cannot be called from current stack status")

    return call


def patches() -> list[tuple[Any, str, Any]]:
    return [
        (CloudFormationResponse, "get_template", get_template),
        (Stack, "stack_resources", _built_resources(vars(Stack)["stack_resources"])),
        (KmsResponse, "schedule_key_deletion", schedule_key_deletion),
        (KmsResponse, "cancel_key_deletion", cancel_key_deletion),
        (
            CloudFormationResponse,
            "cancel_update_stack",
            _refused_outside("CancelUpdateStack", "UPDATE_IN_PROGRESS"),
        ),
        (
            CloudFormationResponse,
            "continue_update_rollback",
            _refused_outside("ContinueUpdateRollback", "UPDATE_ROLLBACK_FAILED"),
        ),
    ]
