"""Check 7, lookups: the ACM certificate the load balancer uses, and the SSM parameters the template resolves."""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from deployer.clients import error_code
from deployer.preflight.context import AWS_ERRORS, PreflightContext, could_not_check
from deployer.preflight.facts import find_properties
from deployer.preflight.model import Finding, Status

CERTIFICATE = "certificate"
SSM = "ssm-parameters"
SSM_TYPE_PREFIX = "AWS::SSM::Parameter::Value<"


def _certificates(ctx: PreflightContext) -> dict[str, str]:
    facts = ctx.facts
    found = {}
    for logical_id, resource in facts.active(
        "AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerCertificate"
    ):
        for _, raw in find_properties(facts.properties(resource), frozenset({"CertificateArn"})):
            arn = facts.text(raw)
            if arn:
                found[arn] = logical_id
    return found


def check_certificate(ctx: PreflightContext) -> list[Finding]:
    certificates = _certificates(ctx)
    if not certificates:
        return []  # nothing to check: a check reports only on what the template has
    findings = []
    for arn, logical_id in certificates.items():
        region = arn.split(":")[3] if arn.count(":") >= 5 else ""
        if region != ctx.facts.region:
            findings.append(
                Finding(
                    CERTIFICATE,
                    Status.FAIL,
                    f"certificate {arn} is in {region or '?'}; a load "
                    f"balancer in {ctx.facts.region} needs one from the same region",
                    fix=f"request or import the certificate in {ctx.facts.region}",
                )
            )
            continue
        try:
            cert = ctx.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":
                findings.append(
                    Finding(
                        CERTIFICATE,
                        Status.FAIL,
                        f"certificate {arn} does not exist",
                        fix="give the ARN of an ISSUED certificate in this region",
                    )
                )
                continue
            findings.append(could_not_check(CERTIFICATE, arn, err, "acm:DescribeCertificate"))
            continue
        except AWS_ERRORS as err:
            findings.append(could_not_check(CERTIFICATE, arn, err, "acm:DescribeCertificate"))
            continue
        findings.append(_verdict(arn, logical_id, cert))
    return findings


def _verdict(arn: str, logical_id: str, cert: dict) -> Finding:
    names = sorted({cert.get("DomainName", ""), *cert.get("SubjectAlternativeNames", [])} - {""})
    status = cert.get("Status")
    if status != "ISSUED":
        fix = "finish its DNS validation (aws acm describe-certificate shows the CNAME record to add)"
        if status == "PENDING_VALIDATION":
            return Finding(CERTIFICATE, Status.FAIL, f"certificate {arn} is PENDING_VALIDATION", fix=fix)
        return Finding(
            CERTIFICATE, Status.FAIL, f"certificate {arn} is {status}", fix="request a new certificate"
        )
    not_after = cert.get("NotAfter")
    if isinstance(not_after, datetime) and not_after.astimezone(UTC) < datetime.now(UTC):
        return Finding(
            CERTIFICATE,
            Status.FAIL,
            f"certificate {arn} expired on {not_after:%Y-%m-%d}",
            fix="renew or replace it",
        )
    if not names:
        return Finding(
            CERTIFICATE,
            Status.FAIL,
            f"certificate {arn} covers no domain name",
            fix="give a certificate for the site's name",
        )
    return Finding(CERTIFICATE, Status.PASS, f"certificate for {', '.join(names)} is ISSUED ({logical_id})")


def check_ssm_parameters(ctx: PreflightContext) -> list[Finding]:
    facts = ctx.facts
    specs = facts.template.get("Parameters") or {}
    wanted = {
        name: (str(spec["Type"]), facts.parameters.get(name, ""))
        for name, spec in specs.items()
        if str(spec.get("Type", "")).startswith(SSM_TYPE_PREFIX)
    }
    if not wanted:
        return []
    findings = []
    for name, (ptype, path) in wanted.items():
        if name in facts.resolved_values:
            findings.append(Finding(SSM, Status.INFO, f"{name}: kept from the deployed stack as {path}"))
            continue
        try:
            value = str(ctx.client("ssm").get_parameter(Name=path)["Parameter"]["Value"])
        except ClientError as err:
            if error_code(err) == "ParameterNotFound":
                findings.append(
                    Finding(
                        SSM,
                        Status.FAIL,
                        f"{name}: SSM parameter {path} does not exist in {facts.region}",
                        fix="give an existing parameter: aws ssm get-parameters-by-path "
                        "--path /aws/service/ami-amazon-linux-latest",
                    )
                )
                continue
            findings.append(could_not_check(SSM, f"SSM parameter {path}", err, "ssm:GetParameter"))
            continue
        except AWS_ERRORS as err:
            findings.append(could_not_check(SSM, f"SSM parameter {path}", err, "ssm:GetParameter"))
            continue
        if "EC2::Image::Id" in ptype and not value.startswith("ami-"):
            findings.append(
                Finding(
                    SSM,
                    Status.FAIL,
                    f"{name}: {path} holds {value!r}, not an AMI id",
                    fix="give a parameter that holds an AMI id",
                )
            )
            continue
        findings.append(Finding(SSM, Status.PASS, f"{name}: {path} resolves to {value}"))
    return findings
