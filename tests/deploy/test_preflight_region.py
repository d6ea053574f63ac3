"""Check 7: zones, quotas, certificate, SSM parameters and instance types, against moto and Stubber."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from deployer.preflight.lookups import check_certificate, check_ssm_parameters
from deployer.preflight.model import Status
from deployer.preflight.region import check_availability_zones, check_instance_type, check_quotas
from emulator.server import MotoServer
from tests.deploy._preflight import ACCOUNT, REGION, moto_context, one, only, stubbed_context

AZS = {
    "Filters": [
        {"Name": "state", "Values": ["available"]},
        {"Name": "zone-type", "Values": ["availability-zone"]},
    ]
}


def client(moto: MotoServer, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=moto.endpoint)  # type: ignore[call-overload]


def test_two_available_zones_pass(moto: MotoServer) -> None:
    assert "us-east-1a, us-east-1b" in one(check_availability_zones(moto_context(moto)), Status.PASS).message


def test_a_region_with_one_available_zone_fails() -> None:
    with stubbed_context() as (ctx, clients):
        clients.stub("ec2").add_response(
            "describe_availability_zones", {"AvailabilityZones": [{"ZoneName": "us-east-1a"}]}, AZS
        )
        failure = one(check_availability_zones(ctx), Status.FAIL)
    assert "1 available Availability Zone(s); the template uses 2" in failure.message


def _quota(clients: Any, code: str, service: str, value: float) -> None:
    clients.stub("service-quotas").add_response(
        "get_service_quota",
        {"Quota": {"QuotaCode": code, "Value": value}},
        {"ServiceCode": service, "QuotaCode": code},
    )


def _usage(clients: Any, addresses: int) -> None:
    ec2 = clients.stub("ec2")
    ec2.add_response("describe_addresses", {"Addresses": [{"Domain": "vpc"}] * addresses}, {})
    ec2.add_response(
        "describe_nat_gateways",
        {"NatGateways": []},
        {"Filters": [{"Name": "state", "Values": ["pending", "available"]}]},
    )
    ec2.add_response("describe_vpcs", {"Vpcs": [{"VpcId": "vpc-1"}]}, {})
    ec2.add_response("describe_internet_gateways", {"InternetGateways": []}, {})


def test_no_room_for_the_elastic_ips_fails_with_the_quota_request() -> None:
    with stubbed_context() as (ctx, clients):
        for code, service, value in (
            ("L-0263D0A3", "ec2", 5),
            ("L-FE5A380F", "vpc", 5),
            ("L-F678F1CE", "vpc", 5),
            ("L-A4707A72", "vpc", 5),
        ):
            _quota(clients, code, service, value)
        _usage(clients, addresses=4)
        findings = check_quotas(ctx)
    failure = one(findings, Status.FAIL)
    assert "EC2-VPC Elastic IPs: 4 in use + 2 for this stack > quota 5" in failure.message
    assert "--service-code ec2 --quota-code L-0263D0A3 --desired-value 6" in (failure.fix or "")


def test_denied_service_quotas_fall_back_to_the_defaults_with_a_warning() -> None:
    with stubbed_context(NatGatewayMode="single") as (ctx, clients):
        for _ in range(4):
            clients.stub("service-quotas").add_client_error(
                "get_service_quota", "AccessDeniedException", "no", 400
            )
        _usage(clients, addresses=0)
        findings = check_quotas(ctx)
    assert len(only(findings, Status.WARN)) == 4
    assert all(
        "using the default 5" in f.message and "servicequotas:GetServiceQuota" in f.message
        for f in only(findings, Status.WARN)
    )
    assert "EC2-VPC Elastic IPs 0+1/5" in one(findings, Status.PASS).message


def test_the_instance_type_offered_in_both_zones_passes(moto: MotoServer) -> None:
    finding = one(check_instance_type(moto_context(moto)), Status.PASS)
    assert finding.message == "t3.micro offered in us-east-1a, us-east-1b"


def test_an_instance_type_missing_in_one_zone_fails() -> None:
    with stubbed_context(InstanceType="p5.48xlarge") as (ctx, clients):
        ec2 = clients.stub("ec2")
        ec2.add_response(
            "describe_availability_zones",
            {"AvailabilityZones": [{"ZoneName": "us-east-1a"}, {"ZoneName": "us-east-1b"}]},
            AZS,
        )
        ec2.add_response(
            "describe_instance_type_offerings",
            {"InstanceTypeOfferings": [{"InstanceType": "p5.48xlarge", "Location": "us-east-1a"}]},
            {
                "LocationType": "availability-zone",
                "Filters": [
                    {"Name": "instance-type", "Values": ["p5.48xlarge"]},
                    {"Name": "location", "Values": ["us-east-1a", "us-east-1b"]},
                ],
            },
        )
        failure = one(check_instance_type(ctx), Status.FAIL)
    assert failure.message == "not offered: p5.48xlarge in us-east-1b"


def test_the_ami_parameter_resolves(moto: MotoServer) -> None:
    assert "resolves to ami-" in one(check_ssm_parameters(moto_context(moto)), Status.PASS).message


def test_a_missing_ami_parameter_fails(moto: MotoServer) -> None:
    failure = one(check_ssm_parameters(moto_context(moto, ImageId="/aws/service/nothing/here")), Status.FAIL)
    assert "/aws/service/nothing/here does not exist" in failure.message


def _self_signed() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def test_an_issued_certificate_passes(moto: MotoServer) -> None:
    cert, key = _self_signed()
    arn = client(moto, "acm").import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    finding = one(check_certificate(moto_context(moto, CertificateArn=arn)), Status.PASS)
    assert "www.example.com is ISSUED" in finding.message


def test_a_certificate_pending_validation_fails_with_the_fix(moto: MotoServer) -> None:
    arn = client(moto, "acm").request_certificate(DomainName="www.example.com")["CertificateArn"]
    failure = one(check_certificate(moto_context(moto, CertificateArn=arn)), Status.FAIL)
    assert "PENDING_VALIDATION" in failure.message and "DNS validation" in (failure.fix or "")


def test_a_certificate_from_another_region_fails_without_a_call() -> None:
    arn = f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/abc"
    with stubbed_context(CertificateArn=arn) as (ctx, clients):
        failure = one(check_certificate(ctx), Status.FAIL)
    assert "eu-west-1" in failure.message and not clients.clients
