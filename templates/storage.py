"""Static-content bucket served through CloudFront with Origin Access Control, and the access-log bucket."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Template

from templates.parameters import StackParameters, add_parameters
from templates.security import Encryption, add_encryption


@dataclass(frozen=True)
class Storage:
    static_bucket: Ref
    static_bucket_arn: GetAtt
    log_bucket: Ref
    distribution: Ref
    distribution_domain_name: GetAtt


def add_storage(t: Template, p: StackParameters | None = None, enc: Encryption | None = None) -> Storage:
    p = p or add_parameters(t)
    enc = enc or add_encryption(t, p)
    raise NotImplementedError
