"""KMS key (or the one the caller brings), security groups, and the web servers' IAM role and instance profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from troposphere import AWSHelperFn, Ref, Template

from templates.parameters import StackParameters, add_parameters

if TYPE_CHECKING:
    from templates.network import Network


@dataclass(frozen=True)
class Encryption:
    key_arn: AWSHelperFn  # If(CreateKmsKey, the stack's key ARN, the KmsKeyArn parameter)


@dataclass(frozen=True)
class Security:
    alb_security_group: Ref
    instance_security_group: Ref
    instance_role: Ref
    instance_profile: Ref


def add_encryption(t: Template, p: StackParameters | None = None) -> Encryption:
    p = p or add_parameters(t)
    raise NotImplementedError


def add_security(
    t: Template, p: StackParameters | None = None, net: Network | None = None, enc: Encryption | None = None
) -> Security:
    raise NotImplementedError
