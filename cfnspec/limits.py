"""CloudFormation's hard limits and this project's defaults: each one a single constant."""

from __future__ import annotations

INLINE_TEMPLATE_LIMIT = 51_200  # bytes (UTF-8) CloudFormation accepts as TemplateBody / --template-body
S3_TEMPLATE_LIMIT = 1_000_000  # bytes (UTF-8) CloudFormation accepts through TemplateURL (documented as 1 MB)
RESOURCE_LIMIT = 500  # resources in one template
MAX_STACK_TAGS = 50
# CloudFormation's Tag data type: a key is 1 to 128 characters, a value 1 to 256 (an empty value is refused).
TAG_KEY_LENGTH = (1, 128)
TAG_VALUE_LENGTH = (1, 256)

# IAM: characters of a policy document without whitespace, for a managed policy and for a role's inline policies.
MANAGED_POLICY_LIMIT = 6_144
INLINE_ROLE_POLICY_LIMIT = 10_240

DEFAULT_REGION = "us-east-1"

RETAIN = "Retain"
# Retain, except when the operation that created the resource rolls back: then CloudFormation deletes it.
RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"
# DeletionPolicy values that leave the resource (or a snapshot of it) behind when the stack is deleted.
RETAINING_POLICIES = (RETAIN, RETAIN_EXCEPT_ON_CREATE, "Snapshot")
