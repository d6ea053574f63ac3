"""The hand-off page's recipe for creating the stack again with the retained data (generator/recreate.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from generator.recreate import importable, recreate_script
from generator.runbook import INLINE_LIMIT
from tests.template_helpers import stack_dict


def test_every_retained_resource_with_a_lookup_is_imported_by_its_schema_identifier() -> None:
    t = stack_dict("tap-stack")
    script = recreate_script("tap-stack", t, INLINE_LIMIT + 1)
    assert {i for i, _ in importable(t)} == {
        "KmsKey",
        "FlowLogGroup",
        "LogBucket",
        "StaticContentBucket",
        "ApplicationLogGroup",
        "AccessLogGroup",
    }
    assert {"KEY=BucketName", "KEY=LogGroupName", "KEY=KeyId"} <= set(script.split())
    assert "AWS::IAM::ServiceLinkedRole: not imported" in script


def test_the_import_template_is_passed_inline_and_the_full_template_through_s3() -> None:
    script = recreate_script("tap-stack", stack_dict("tap-stack"), INLINE_LIMIT + 1)
    importing, updating = script.split("# 4. ", 1)
    assert (
        "--change-set-type IMPORT" in importing and "--template-body file://import-template.json" in importing
    )
    assert "--change-set-type UPDATE" in updating and '--template-url "$TEMPLATE_URL"' in updating
    # Reviewed before it is executed: the import is created and shown, executed only by the next block.
    created, executed = importing.split("execute-change-set", 1)
    assert "describe-change-set" in created and "wait stack-import-complete" in executed
    assert 'aws s3 cp output/tap-stack.json "s3://$BUCKET/templates/tap-stack-$SHA.json"' in updating


def test_the_jq_import_template_keeps_only_the_imported_resources_and_drops_references_to_others(
    tmp_path: Path,
) -> None:
    t = stack_dict("tap-stack")
    script = recreate_script("tap-stack", t, INLINE_LIMIT + 1)
    start = script.index("cat > import-template.jq")
    end = script.index("> import-template.json") + len("> import-template.json")
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "tap-stack.json").write_text(json.dumps(t))
    wanted = [
        {"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": "StaticContentBucket"},
        {"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": "LogBucket"},
    ]
    (tmp_path / "resources-to-import.json").write_text(json.dumps(wanted))
    subprocess.run(["bash", "-c", script[start:end]], cwd=tmp_path, check=True, timeout=60)
    made = json.loads((tmp_path / "import-template.json").read_text())
    assert list(made["Resources"]) == ["LogBucket", "StaticContentBucket"]
    static = made["Resources"]["StaticContentBucket"]["Properties"]
    assert "BucketEncryption" not in static  # refers to KmsKey, which is not imported
    assert (
        static["LoggingConfiguration"]
        == t["Resources"]["StaticContentBucket"]["Properties"]["LoggingConfiguration"]
    )
    assert made["Parameters"] == t["Parameters"] and "Outputs" not in made
