"""An unknown region is bad input (exit 2) before any AWS call, for every command, from botocore's own data."""

from __future__ import annotations

import pytest

from deployer.regions import check_region, dns_suffix, known_regions
from tests.deploy.conftest import STACK, Harness
from tests.deploy.test_bad_inputs import assert_rejected

pytestmark = pytest.mark.deploy


@pytest.mark.parametrize(
    "argv",
    [
        ["deploy", "--stack-name", STACK],
        ["status", "--stack-name", STACK],
        ["drift", "--stack-name", STACK],
        ["delete", "--stack-name", STACK, "--yes"],
        ["stackset", "status", "--stack-set-name", "alerts"],
    ],
    ids=["deploy", "status", "drift", "delete", "stackset"],
)
def test_an_unknown_region_is_exit_2_before_any_call(harness: Harness, argv: list[str]) -> None:
    if argv[0] == "deploy":
        argv = [*argv, "--template-file", harness.template()]
    code = harness.run(*argv, "--region", "xx-fake-9")
    assert_rejected(harness, code, "unknown region 'xx-fake-9'", "eu-west-1")
    assert harness.calls == []


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"])
def test_regions_of_every_partition_are_known(region: str) -> None:
    check_region(region)
    assert region in known_regions()


def test_the_dns_suffix_is_the_partitions() -> None:
    assert dns_suffix("eu-west-1") == "amazonaws.com"
    assert dns_suffix("cn-north-1") == "amazonaws.com.cn"
