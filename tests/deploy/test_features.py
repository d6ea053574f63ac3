"""Newer CloudFormation API members are detected from botocore's own service model."""

from __future__ import annotations

import pytest

from deployer import features
from deployer.errors import BadInput


@pytest.mark.parametrize(
    "feature",
    [
        features.ON_STACK_FAILURE,
        features.DEPLOYMENT_MODE,
        features.DESCRIBE_EVENTS,
    ],
)
def test_the_installed_botocore_knows_every_member_the_deployer_uses(feature: features.Feature) -> None:
    # The lower bound in pyproject.toml promises these; an older botocore fails here first.
    assert features.supported(feature)


def test_an_unknown_member_of_a_known_operation_is_not_supported() -> None:
    assert not features.supported(features.Feature("CreateChangeSet", "NoSuchMember", "testing"))


def test_an_unknown_operation_is_not_supported() -> None:
    assert not features.supported(features.Feature("DescribeNoSuchThing", None, "testing"))


def test_require_names_the_member_its_purpose_and_the_fix() -> None:
    with pytest.raises(BadInput) as caught:
        features.require(features.Feature("CreateChangeSet", "NoSuchMember", "the testing flag"))
    text = str(caught.value)
    assert "CreateChangeSet.NoSuchMember" in text
    assert "the testing flag" in text
    assert "pip install --upgrade" in text
