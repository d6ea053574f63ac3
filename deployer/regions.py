"""Region codes and partitions from botocore's bundled endpoint data: no AWS call is made."""

from __future__ import annotations

from functools import cache

import botocore.session

from deployer.errors import BadInput


@cache
def _bundled_data() -> botocore.session.Session:
    """One botocore session for the endpoint data botocore ships: each new session parses it again (0.1 s)."""
    return botocore.session.get_session()


@cache
def partition_of(region: str) -> str:
    """aws, aws-cn, aws-us-gov, ...: the partition of a region, as botocore's endpoint data says."""
    return str(_bundled_data().get_partition_for_region(region))


@cache
def known_regions() -> frozenset[str]:
    session = _bundled_data()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("cloudformation", partition_name=partition))
    return frozenset(regions)


def check_region(region: str, flag: str = "--region") -> None:
    """A mistyped region would otherwise surface as a connection error after retries (exit 5), or, against an
    emulator that takes any name, as a stack in a region that does not exist."""
    if region not in known_regions():
        raise BadInput(
            f"{flag}: unknown region {region!r}",
            hint="use a region code such as eu-west-1 (`aws ec2 describe-regions` lists them)",
        )


@cache
def dns_suffix(region: str) -> str:
    """amazonaws.com, amazonaws.com.cn, ...: the domain of the region's partition."""
    partition = partition_of(region)
    data = _bundled_data().get_data("endpoints")
    return next(str(p["dnsSuffix"]) for p in data["partitions"] if p["partition"] == partition)
