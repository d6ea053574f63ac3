"""Stand-ins for the network, security and load-balancer components: compute and monitoring tested alone.

`web_tier_template()` adds the parameters, minimal real resources under the logical ids that the stand-in
references point at (so the result also lints), then the log groups, compute and monitoring under test.
"""

from __future__ import annotations

import json
import re
from typing import Any

from awacs import kms as kms_actions
from awacs.aws import Allow, PolicyDocument, Principal, Statement
from awacs.sts import AssumeRole
from troposphere import Cidr, GetAtt, GetAZs, If, Ref, Select, Sub, Template, ec2, iam, kms
from troposphere import elasticloadbalancingv2 as elbv2

from templates.compute import Fleet, add_compute
from templates.load_balancer import LoadBalancer
from templates.monitoring import LogGroups, Monitoring, add_log_groups, add_monitoring
from templates.network import Network
from templates.parameters import CREATE_KMS_KEY, StackParameters, add_parameters
from templates.security import Encryption, Security

ENCRYPTION = Encryption(key_arn=If(CREATE_KMS_KEY, GetAtt("FakeKey", "Arn"), Ref("KmsKeyArn")))
NETWORK = Network(
    vpc=Ref("FakeVpc"),
    availability_zones=(Select(0, GetAZs("")), Select(1, GetAZs(""))),
    public_subnets=(Ref("FakePublicSubnet1"), Ref("FakePublicSubnet2")),
    private_subnets=(Ref("FakePrivateSubnet1"), Ref("FakePrivateSubnet2")),
)
SECURITY = Security(
    alb_security_group=Ref("FakeAlbSecurityGroup"),
    instance_security_group=Ref("FakeInstanceSecurityGroup"),
    instance_role=Ref("FakeInstanceRole"),
    instance_profile=Ref("FakeInstanceProfile"),
)
LOAD_BALANCER = LoadBalancer(
    load_balancer=Ref("FakeAlb"),
    dns_name=GetAtt("FakeAlb", "DNSName"),
    url=Sub("http://${FakeAlb.DNSName}"),
    full_name=GetAtt("FakeAlb", "LoadBalancerFullName"),
    target_group=Ref("FakeTargetGroup"),
    target_group_full_name=GetAtt("FakeTargetGroup", "TargetGroupFullName"),
    listeners_ready="FakeListener",
)


def _add_stand_in_resources(t: Template) -> None:
    t.add_resource(
        kms.Key(
            "FakeKey",
            Condition=CREATE_KMS_KEY,
            EnableKeyRotation=True,
            KeyPolicy=PolicyDocument(
                Statement=[
                    Statement(
                        Effect=Allow,
                        Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                        Action=[kms_actions.Action("*")],
                        Resource=["*"],
                    )
                ]
            ),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    t.add_resource(ec2.VPC("FakeVpc", CidrBlock=Ref("VpcCidr")))
    names = ["FakePublicSubnet1", "FakePublicSubnet2", "FakePrivateSubnet1", "FakePrivateSubnet2"]
    for i, name in enumerate(names):
        t.add_resource(
            ec2.Subnet(
                name,
                VpcId=Ref("FakeVpc"),
                CidrBlock=Select(i, Cidr(GetAtt("FakeVpc", "CidrBlock"), 4, 12)),
                AvailabilityZone=Select(i % 2, GetAZs("")),
                MapPublicIpOnLaunch=False,
            )
        )
    for name in ("FakeAlbSecurityGroup", "FakeInstanceSecurityGroup"):
        t.add_resource(ec2.SecurityGroup(name, GroupDescription="stand-in", VpcId=Ref("FakeVpc")))
    t.add_resource(
        iam.Role(
            "FakeInstanceRole",
            AssumeRolePolicyDocument=PolicyDocument(
                Statement=[
                    Statement(
                        Effect=Allow, Principal=Principal("Service", "ec2.amazonaws.com"), Action=[AssumeRole]
                    )
                ]
            ),
        )
    )
    t.add_resource(iam.InstanceProfile("FakeInstanceProfile", Roles=[Ref("FakeInstanceRole")]))
    t.add_resource(
        elbv2.LoadBalancer(
            "FakeAlb",
            Scheme="internet-facing",
            Subnets=[Ref("FakePublicSubnet1"), Ref("FakePublicSubnet2")],
            SecurityGroups=[Ref("FakeAlbSecurityGroup")],
        )
    )
    t.add_resource(
        elbv2.TargetGroup(
            "FakeTargetGroup", Port=80, Protocol="HTTP", VpcId=Ref("FakeVpc"), HealthCheckPath="/health"
        )
    )
    t.add_resource(
        elbv2.Listener(
            "FakeListener",
            LoadBalancerArn=Ref("FakeAlb"),
            Port=80,
            Protocol="HTTP",
            DefaultActions=[elbv2.Action(Type="forward", TargetGroupArn=Ref("FakeTargetGroup"))],
        )
    )


def web_tier_template() -> tuple[Template, StackParameters, LogGroups, Fleet, Monitoring]:
    t = Template()
    p = add_parameters(t)
    _add_stand_in_resources(t)
    logs = add_log_groups(t, p, ENCRYPTION)
    fleet = add_compute(t, p, NETWORK, ENCRYPTION, SECURITY, LOAD_BALANCER, logs)
    alerts = add_monitoring(t, p, ENCRYPTION, LOAD_BALANCER, fleet)
    return t, p, logs, fleet, alerts


def web_tier_dict() -> dict[str, Any]:
    return web_tier_template()[0].to_dict()


def cfn_substitute(pattern: str, values: dict[str, str] | None = None) -> str:
    """What CloudFormation's Fn::Sub makes of a pattern: `${!x}` becomes `${x}`, `${name}` its value."""
    values = values or {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        return values.get(name, f"sub-{name.replace(':', '-').replace('.', '-')}")

    return re.sub(r"\$\{([^}]*)\}", replace, pattern)


def sub_names(pattern: str) -> set[str]:
    """The names a Sub pattern substitutes (escaped `${!x}` excluded)."""
    return {name for name in re.findall(r"\$\{([^}]*)\}", pattern) if not name.startswith("!")}


def lint_findings(tpl: dict[str, Any], logical_ids: set[str]) -> list[str]:
    """cfn-lint findings (informational rules included) located on the given resources."""
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    matches = lint(
        json.dumps(tpl), regions=["us-east-1"], config=ManualArgs(regions=["us-east-1"], include_checks=["I"])
    )
    return [
        f"{m.rule.id} {'/'.join(map(str, m.path))}: {m.message}"
        for m in matches
        if len(m.path) > 1 and m.path[0] == "Resources" and m.path[1] in logical_ids
    ]
