"""The hand-off page's account prerequisites: a brought KMS key's policy, service-linked roles, SSM parameters.

Each subsection appears only when the template has what needs it, and says how to check and fix it with the
plain AWS CLI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from generator import describe
from generator.key_policy import brought_key_policy, placeholders_used
from generator.markdown import code, fenced
from generator.shell import guarded, not_rehearsable


def _key_parameters(t: Mapping[str, Any]) -> list[str]:
    return [name for name in t.get("Parameters", {}) if "kms" in name.lower()]


def prerequisites_section(t: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    key_params = _key_parameters(t)
    policy = brought_key_policy(t)
    if key_params and policy is not None:
        fill_in = "; ".join(f"`{p}`: {what}" for p, what in placeholders_used(policy, t))
        lines += [
            f"### Bringing your own KMS key ({', '.join(code(p) for p in key_params)})",
            "",
            "Left empty, the stack creates its own key. A key you bring must be a symmetric customer managed "
            "key in the stack's region whose key policy lets every service the stack encrypts with use it: "
            "the policy below is the one the stack gives its own key, statement for statement. Without the "
            "Auto Scaling statements, instances never launch: their encrypted volumes cannot be created and "
            "the group reports `Client.InternalError`. Replace the placeholders ("
            + fill_in
            + "); keep the first statement (or your own administration statements) so that the account's "
            "IAM policies, such as the instance role's, can grant use of the key. Then set the key's ARN as "
            f"{code(key_params[0])} in your parameter file.",
            "",
            *fenced("json", json.dumps(policy, indent=2)),
            "",
            "Save it as `key-policy.json`, merge in the statements your key already has (a key has exactly "
            "one policy, named `default`, and this replaces it), then apply it:",
            "",
            *not_rehearsable("needs a KMS key of yours and your edited key-policy.json"),
            *fenced(
                "sh",
                guarded(
                    [
                        "KEY_ID=replace-with-your-key-id-or-arn",
                        'aws kms get-key-policy --region "$REGION" --key-id "$KEY_ID" --policy-name default '
                        "--query Policy --output text > current-key-policy.json",
                        'aws kms put-key-policy --region "$REGION" --key-id "$KEY_ID" --policy-name default '
                        "--policy file://key-policy.json",
                    ]
                ),
            ),
            "",
        ]
    for logical_id, resource in describe.service_linked_roles(t):
        service = resource.get("Properties", {}).get("AWSServiceName", "the service")
        role = (
            "AWSServiceRoleForAutoScaling"
            if service == "autoscaling.amazonaws.com"
            else f"the role for {service}"
        )
        condition = resource.get("Condition")
        parameter = describe.condition_parameter(t, condition) if condition else None
        # The same advice as deploy.py preflight (deployer/preflight/iam.py): leave the parameter false; the
        # service creates its role on first use, so only an account that must create it itself sets it.
        switch = (
            f"Leave {code(parameter)} `false`: when the role does not exist yet, the service creates it the "
            "first time the stack creates the group (the deploying identity needs "
            f"`iam:CreateServiceLinkedRole`). Set it `true` only to have the stack create the role "
            f"({code(logical_id)}), and only when the role does not exist: creating it twice fails."
            if parameter
            else f"The stack creates it ({code(logical_id)})."
        )
        lines += [
            f"### The {role} service-linked role",
            "",
            f"The service {service} acts through {role}. Every account that has used the service has it "
            f"already. {switch} Check (its name printed: it exists):",
            "",
            *fenced(
                "sh",
                f"aws iam list-roles --path-prefix /aws-service-role/{service}/ "
                "--query 'Roles[].RoleName' --output text",
            ),
            "",
            "Or create it now, once for the account (what `deploy.py preflight` suggests when it is missing):",
            "",
            *not_rehearsable("changes the account; run it only when the role does not exist"),
            *fenced("sh", f"aws iam create-service-linked-role --aws-service-name {service}"),
            "",
        ]
    for name, spec in t.get("Parameters", {}).items():
        if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value") and "Default" in spec:
            lines += [
                f"### The SSM parameter behind {code(name)}",
                "",
                "It must exist in the region you deploy to (public AWS parameters do in every "
                "commercial region):",
                "",
                *fenced(
                    "sh", guarded([f'aws ssm get-parameters --region "$REGION" --names {spec["Default"]}'])
                ),
                "",
            ]
    return lines
