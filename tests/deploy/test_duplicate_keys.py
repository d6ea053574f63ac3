"""A key the user writes twice is refused (exit 2, naming the key and the file) instead of the last one winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.conftest import STACK, Harness
from tests.deploy.test_bad_inputs import assert_rejected

pytestmark = pytest.mark.deploy


def write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"MinSize": "2", "InstanceType": "t3.micro", "MinSize": "3"}', "'MinSize'"),
        (
            '[{"ParameterKey": "MinSize", "ParameterValue": "2"},'
            ' {"ParameterKey": "InstanceType", "ParameterValue": "t3.micro"},'
            ' {"ParameterKey": "MinSize", "ParameterValue": "3"}]',
            "ParameterKey 'MinSize' is given twice (entries 0 and 2)",
        ),
        ('{"Parameters": {"MinSize": "2"}, "Tags": {"Team": "web", "Team": "data"}}', "'Team'"),
        ('{"Parameters": {"MinSize": "2", "MinSize": "3"}}', "'MinSize'"),
    ],
    ids=["object", "list", "template-configuration-tags", "template-configuration-parameters"],
)
def test_a_key_written_twice_in_a_parameters_file_is_refused(harness: Harness, text: str, key: str) -> None:
    path = write(harness.tmp, "params.json", text)
    code = harness.run(*harness.deploy_args("--parameters-file", path))
    assert_rejected(harness, code, key, "params.json")
    assert harness.calls == []


def test_a_resource_id_written_twice_in_a_json_template_is_refused(harness: Harness) -> None:
    template = write(
        harness.tmp,
        "dup.json",
        '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Topic": {"Type": "AWS::SQS::Queue"}}}',
    )
    code = harness.run("deploy", "--stack-name", STACK, "--template-file", template)
    assert_rejected(harness, code, "template", "dup.json", "'Topic' is written twice")
    assert harness.calls == []


@pytest.mark.parametrize("flag", ["--parameter-overrides", "--tags"])
def test_a_key_given_twice_on_the_command_line_is_refused(harness: Harness, flag: str) -> None:
    code = harness.run(*harness.deploy_args(flag, "MinSize=2", "MinSize=3"))
    assert_rejected(harness, code, "'MinSize' is given twice", "MinSize=2 and MinSize=3")
    assert harness.calls == []


def test_a_key_written_twice_in_a_stack_policy_file_is_refused(harness: Harness) -> None:
    policy = write(harness.tmp, "policy.json", '{"Statement": [], "Statement": []}')
    code = harness.run(*harness.deploy_args("--stack-policy-file", policy))
    assert_rejected(harness, code, "policy.json", "'Statement'")
