"""The web servers' log groups: created by the stack (not by the CloudWatch agent) so that they carry the
retention, the KMS key and the tags, and outlive the stack when it is deleted (not a failed first create, whose
rollback deletes them so that their fixed names are free for the retry)."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Template, logs

from templates import naming
from templates.encryption import Encryption
from templates.lifecycle import retained_unless_its_create_fails
from templates.parameters import StackParameters
from templates.tags import tags

# The tag they have always carried: changing it would only churn tags on deployed stacks.
COMPONENT = "monitoring"


@dataclass(frozen=True)
class LogGroups:
    application: Ref
    access: Ref
    application_arn: GetAtt  # arn:...:log-group:<name>:* (covers the group's streams)
    access_arn: GetAtt


def add_log_groups(t: Template, p: StackParameters, enc: Encryption) -> LogGroups:
    def log_group(title: str, pattern: str) -> logs.LogGroup:
        return t.add_resource(
            logs.LogGroup(
                title,
                LogGroupName=naming.name(pattern),
                RetentionInDays=p.log_retention_days,
                KmsKeyId=enc.key_arn,
                Tags=tags(p, COMPONENT),
                **retained_unless_its_create_fails(),
            )
        )

    application = log_group("ApplicationLogGroup", naming.APP_LOG_GROUP)
    access = log_group("AccessLogGroup", naming.ACCESS_LOG_GROUP)
    return LogGroups(
        application=Ref(application),
        access=Ref(access),
        application_arn=GetAtt(application, "Arn"),
        access_arn=GetAtt(access, "Arn"),
    )
