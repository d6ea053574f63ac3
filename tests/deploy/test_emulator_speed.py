"""emulator/speed.py changes how soon moto answers, never what: the generated template parses to the same dict as
moto's own YAML-first parse, and a YAML template still goes through moto's parser (its tags included)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from moto.cloudformation.models import ChangeSet, Stack
from moto.cloudformation.utils import yaml_tag_constructor

from emulator.gaps import patch_moto

ROOT = Path(__file__).resolve().parents[2]
YAML_TEMPLATE = """
Parameters:
  Suffix: {Type: String}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "alerts-${Suffix}"
"""


def _moto_yaml(template: str) -> object:
    yaml.add_multi_constructor("", yaml_tag_constructor)
    return yaml.load(template, Loader=yaml.Loader)


@pytest.mark.parametrize("path", sorted((ROOT / "output").glob("*.json")), ids=lambda p: p.name)
def test_every_generated_json_file_parses_as_moto_would_parse_it(path: Path) -> None:
    patch_moto()
    text = path.read_text(encoding="utf-8")
    assert Stack.parse_template(text) == _moto_yaml(text)


def test_a_yaml_template_still_goes_through_motos_parser_with_its_tags() -> None:
    patch_moto()
    parsed = Stack.parse_template(YAML_TEMPLATE)
    assert parsed == _moto_yaml(YAML_TEMPLATE)
    assert parsed["Resources"]["Topic"]["Properties"]["TopicName"] == {"Fn::Sub": "alerts-${Suffix}"}


def test_a_change_set_parses_its_template_with_the_same_parser() -> None:
    patch_moto()
    change_set = ChangeSet.__new__(ChangeSet)
    change_set.template = YAML_TEMPLATE
    change_set._parse_template()
    assert change_set.template_dict == Stack.parse_template(YAML_TEMPLATE)
