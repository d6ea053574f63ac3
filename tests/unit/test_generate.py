"""generate.py: writes every file, deterministically; --check; lint failures; --only; sizes; --help."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from troposphere import (
    Export,
    GetAZs,
    Output,
    Parameter,
    Ref,
    Sub,
    Template,
    autoscaling,
    dynamodb,
    ec2,
    sns,
    sqs,
    ssm,
)

import generate
from generator import pipeline
from generator.lint import Finding
from generator.render import render

Registry = dict[str, Callable[[], Template]]


def demo_template() -> Template:
    """A small lint-clean template with constrained parameters, an output and an export."""
    t = Template(Description="Demo stack for generate.py tests")
    t.set_version("2010-09-09")
    t.add_parameter(
        Parameter(
            "Suffix",
            Type="String",
            Default="dev",
            AllowedPattern="^[a-z0-9-]+$",
            MaxLength=10,
            Description="Environment suffix",
            ConstraintDescription="lower-case letters, digits and hyphens",
        )
    )
    t.add_parameter(
        Parameter(
            "Count",
            Type="Number",
            Default=2,
            MinValue=1,
            MaxValue=5,
            Description="How many",
            ConstraintDescription="a number from 1 to 5",
        )
    )
    topic = t.add_resource(sns.Topic("Topic", TopicName=Sub("demo-${Suffix}")))
    t.add_resource(ssm.Parameter("Setting", Type="String", Value=Sub("${Count}")))
    t.add_output(
        Output(
            "TopicArn",
            Value=Ref(topic),
            Description="The topic",
            Export=Export(Sub("${AWS::StackName}-TopicArn")),
        )
    )
    return t


def broken_template() -> Template:
    """troposphere accepts a Ref to a parameter that does not exist; cfn-lint does not."""
    t = demo_template()
    t.add_resource(sns.Topic("BrokenTopic", TopicName=Ref("NoSuchParameter")))
    return t


SUPPRESSION_REASON = "the parameter is added by a nested template at deploy time"


def suppressed_template(reason: str | None = SUPPRESSION_REASON) -> Template:
    t = demo_template()
    metadata: dict[str, object] = {"config": {"ignore_checks": ["E1020"]}}
    if reason is not None:
        metadata["reasons"] = {"E1020": reason}
    t.add_resource(
        sns.Topic("BrokenTopic", TopicName=Ref("NoSuchParameter"), Metadata={"cfn-lint": metadata})
    )
    return t


def suppressed_without_reason_template() -> Template:
    return suppressed_template(reason=None)


def informational_template() -> Template:
    """A DynamoDB table without DeletionPolicy: only the informational rule I3011 reports it."""
    t = demo_template()
    t.add_resource(
        dynamodb.Table(
            "Table",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName="id", AttributeType="S")],
            KeySchema=[dynamodb.KeySchema(AttributeName="id", KeyType="HASH")],
        )
    )
    return t


def padded_template(size: int) -> Callable[[], Template]:
    def build() -> Template:
        t = demo_template()
        t.set_metadata({"Padding": "x" * size})
        return t

    return build


def failing_builder() -> Template:
    raise NotImplementedError("not written yet")


DEMO: Registry = {"demo": demo_template}
DEMO_FILES = {
    "demo.json",
    "demo.deploy-policy.json",
    "demo.md",
    "demo.parameters.json",
    "demo.dev.parameters.json",
    "demo.prod.parameters.json",
}


@pytest.fixture(scope="session")
def lint_results() -> dict[tuple[str, tuple[str, ...]], list[Finding]]:
    """cfn-lint's findings per (template body, regions), filled once per session: the tests below build the
    same few templates many times, and linting is most of what a build costs."""
    return {}


@pytest.fixture(autouse=True)
def lint_once(
    lint_results: dict[tuple[str, tuple[str, ...]], list[Finding]], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pipeline.lint_template

    def cached(body: str, regions: Sequence[str]) -> list[Finding]:
        key = (body, tuple(regions))
        if key not in lint_results:
            lint_results[key] = real(body, regions)
        return list(lint_results[key])

    monkeypatch.setattr(pipeline, "lint_template", cached)


def run(registry: Registry, output_dir: Path, **kwargs: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = generate.run(registry, output_dir, out=out, err=err, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_generate_writes_template_docs_and_parameter_files(tmp_path: Path) -> None:
    code, out, err = run(DEMO, tmp_path)
    assert code == generate.EXIT_OK, out + err
    assert {p.name for p in tmp_path.iterdir()} == DEMO_FILES
    body = (tmp_path / "demo.json").read_text()
    assert json.loads(body)["Resources"]["Topic"]["Type"] == "AWS::SNS::Topic"
    assert body.endswith("}\n") and not body.endswith("\n\n")
    assert body.split("\n")[1].startswith('  "') and not body.split("\n")[1].startswith("   ")


def test_template_json_puts_sections_in_documentation_order(tmp_path: Path) -> None:
    run(DEMO, tmp_path)
    keys = list(json.loads((tmp_path / "demo.json").read_text()))
    assert keys == ["AWSTemplateFormatVersion", "Description", "Parameters", "Resources", "Outputs"]


def test_output_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    run(DEMO, first)
    run(DEMO, second)
    for name in DEMO_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert render(demo_template()) == render(demo_template())


def test_check_passes_when_output_is_current_and_writes_nothing(tmp_path: Path) -> None:
    run(DEMO, tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    code, out, _ = run(DEMO, tmp_path, check=True)
    assert code == generate.EXIT_OK
    assert "up to date" in out
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_check_does_not_write_into_an_empty_directory(tmp_path: Path) -> None:
    code, _, err = run(DEMO, tmp_path, check=True)
    assert code == generate.EXIT_STALE
    assert list(tmp_path.iterdir()) == []
    for name in DEMO_FILES:
        assert f"{name}: missing" in err


@pytest.mark.parametrize("name", sorted(DEMO_FILES))
def test_check_detects_a_stale_file(tmp_path: Path, name: str) -> None:
    run(DEMO, tmp_path)
    path = tmp_path / name
    path.write_text(path.read_text() + "\n")
    code, _, err = run(DEMO, tmp_path, check=True)
    assert code == generate.EXIT_STALE
    assert f"{path}: stale" in err
    assert err.count(": stale") == 1


@pytest.mark.parametrize("name", ["demo.json", "demo.md", "demo.prod.parameters.json"])
def test_check_detects_a_missing_file(tmp_path: Path, name: str) -> None:
    run(DEMO, tmp_path)
    (tmp_path / name).unlink()
    code, _, err = run(DEMO, tmp_path, check=True)
    assert code == generate.EXIT_STALE
    assert f"{tmp_path / name}: missing" in err


def test_check_reports_files_no_template_produces(tmp_path: Path) -> None:
    run(DEMO, tmp_path)
    (tmp_path / "retired.json").write_text("{}\n")
    code, _, err = run(DEMO, tmp_path, check=True)
    assert code == generate.EXIT_STALE
    assert f"{tmp_path / 'retired.json'}: not produced by any template" in err


def test_writing_leaves_unchanged_files_alone(tmp_path: Path) -> None:
    run(DEMO, tmp_path)
    (tmp_path / "demo.md").write_text("edited by hand\n")
    before = (tmp_path / "demo.json").stat().st_mtime_ns
    code, out, _ = run(DEMO, tmp_path)
    assert code == generate.EXIT_OK
    assert "1 of 6 files written" in out
    assert (tmp_path / "demo.json").stat().st_mtime_ns == before
    assert (tmp_path / "demo.md").read_text().startswith("# demo\n")


def test_lint_error_fails_the_run_with_rule_id_path_and_message(tmp_path: Path) -> None:
    code, out, err = run({"broken": broken_template}, tmp_path)
    assert code == generate.EXIT_FAILED
    finding = next(line for line in out.splitlines() if "E1020" in line)
    assert finding.strip().startswith("E1020 Resources/BrokenTopic/Properties/TopicName/Ref: ")
    assert "NoSuchParameter" in finding
    assert "nothing written" in err
    assert list(tmp_path.iterdir()) == []


def test_lint_error_fails_check_too(tmp_path: Path) -> None:
    code, out, _ = run({"broken": broken_template}, tmp_path, check=True)
    assert code == generate.EXIT_FAILED
    assert "E1020" in out


def test_lint_finding_suppressed_in_resource_metadata_passes_and_is_listed(tmp_path: Path) -> None:
    code, out, err = run({"suppressed": suppressed_template}, tmp_path)
    assert code == generate.EXIT_OK, out + err
    assert f"suppressed in Metadata: E1020 on Resources/BrokenTopic: {SUPPRESSION_REASON}" in out


def test_lint_suppression_without_a_written_reason_fails_the_run(tmp_path: Path) -> None:
    code, out, _ = run({"unexplained": suppressed_without_reason_template}, tmp_path)
    assert code == generate.EXIT_FAILED
    assert "E1020 Resources/BrokenTopic/Metadata/cfn-lint: E1020 is suppressed without a reason" in out
    assert not (tmp_path / "unexplained.json").exists()


def test_informational_rules_are_included(tmp_path: Path) -> None:
    code, out, _ = run({"info": informational_template}, tmp_path)
    assert code == generate.EXIT_FAILED
    assert "I3011 Resources/Table" in out


def test_builder_failure_names_the_template(tmp_path: Path) -> None:
    code, _, err = run({"demo": demo_template, "unfinished": failing_builder}, tmp_path)
    assert code == generate.EXIT_FAILED
    assert "unfinished: building the template failed: NotImplementedError: not written yet" in err
    assert list(tmp_path.iterdir()) == []


def test_only_with_an_unknown_name_exits_2_listing_the_names(tmp_path: Path) -> None:
    code, _, err = run({"demo": demo_template, "other": demo_template}, tmp_path, only="dmeo")
    assert code == generate.EXIT_USAGE == 2
    assert "unknown template 'dmeo'" in err
    assert "demo, other" in err


def test_only_builds_and_checks_one_template(tmp_path: Path) -> None:
    registry: Registry = {"demo": demo_template, "other": informational_template}
    code, out, _ = run(registry, tmp_path, only="demo")
    assert code == generate.EXIT_OK
    assert {p.name for p in tmp_path.iterdir()} == DEMO_FILES
    assert "other" not in out
    # Files of the templates left out are not "unexpected" under --only.
    (tmp_path / "other.json").write_text("{}\n")
    assert run(registry, tmp_path, only="demo", check=True)[0] == generate.EXIT_OK


def test_size_line_gives_resources_and_bytes_against_the_limits(tmp_path: Path) -> None:
    code, out, _ = run(DEMO, tmp_path)
    size = len((tmp_path / "demo.json").read_bytes())
    assert code == generate.EXIT_OK
    assert f"demo: 2/500 resources, {size:,}/51,200 bytes" in out.splitlines()[0]
    assert "WARNING" not in out


def test_over_the_inline_limit_warns_that_deploying_needs_s3(tmp_path: Path) -> None:
    code, out, _ = run({"big": padded_template(60_000)}, tmp_path)
    assert code == generate.EXIT_OK
    assert "WARNING: over the inline limit, deploying needs an S3 upload (deploy.py --s3-bucket" in out
    page = (tmp_path / "big.md").read_text()
    assert "--template-url" in page and "aws s3 cp output/big.json" in page


def test_over_one_megabyte_fails(tmp_path: Path) -> None:
    code, out, _ = run({"huge": padded_template(pipeline.S3_LIMIT)}, tmp_path)
    assert code == generate.EXIT_FAILED
    assert "ERROR: over the 1,000,000-byte limit" in out
    assert list(tmp_path.iterdir()) == []


def test_regions_are_passed_to_the_linter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    real = pipeline.lint_template

    def spy(body: str, regions: list[str]) -> list[object]:
        seen.append(list(regions))
        return real(body, regions)  # type: ignore[return-value]

    monkeypatch.setattr(pipeline, "lint_template", spy)
    monkeypatch.setattr("templates.REGISTRY", DEMO)
    argv = ["--output-dir", str(tmp_path), "--region", "eu-west-1", "--region", "us-west-2"]
    assert generate.main(argv) == generate.EXIT_OK
    assert generate.main(["--output-dir", str(tmp_path), "--check"]) == generate.EXIT_OK
    assert seen == [["eu-west-1", "us-west-2"], ["us-east-1"]]


def test_main_exits_2_for_unknown_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("templates.REGISTRY", DEMO)
    assert generate.main(["--output-dir", str(tmp_path), "--only", "nope"]) == 2


def test_help_explains_options_limits_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        generate.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for expected in (
        "--check",
        "--output-dir",
        "--only",
        "--region",
        "us-east-1",
        "NAME.md",
        "NAME.parameters.json",
        "51,200",
        "--s3-bucket",
        "1,000,000",
        "500",
        "exit codes",
        "ignore_checks",
    ):
        assert expected in text, expected
    for code in (generate.EXIT_OK, generate.EXIT_FAILED, generate.EXIT_USAGE, generate.EXIT_STALE):
        assert f"\n  {code}  " in text


def sized_template(min_default: int, max_default: int) -> Callable[[], Template]:
    """A group whose size parameters' defaults are out of order: every example file inherits them."""

    def build() -> Template:
        t = Template(Description="Group sizes")
        low = t.add_parameter(Parameter("Low", Type="Number", Default=min_default, Description="min"))
        high = t.add_parameter(Parameter("High", Type="Number", Default=max_default, Description="max"))
        template = t.add_resource(
            ec2.LaunchTemplate(
                "Launch",
                LaunchTemplateData=ec2.LaunchTemplateData(ImageId="ami-12345678", InstanceType="t3.micro"),
            )
        )
        t.add_resource(
            autoscaling.AutoScalingGroup(
                "Fleet",
                MinSize=Ref(low),
                MaxSize=Ref(high),
                AvailabilityZones=GetAZs(""),
                LaunchTemplate=autoscaling.LaunchTemplateSpecification(
                    LaunchTemplateId=Ref(template), Version="$Latest"
                ),
            )
        )
        return t

    return build


def test_example_files_with_minimum_above_maximum_fail_the_run(tmp_path: Path) -> None:
    code, out, _ = run({"sized": sized_template(4, 3)}, tmp_path)
    assert code == generate.EXIT_FAILED
    assert "sized.parameters.json breaks the template's parameter constraints:" in out
    assert "Low=4 is greater than High=3: Auto Scaling rejects group Fleet" in out
    assert list(tmp_path.iterdir()) == []


def test_example_files_with_sizes_in_order_pass(tmp_path: Path) -> None:
    code, out, err = run({"sized": sized_template(2, 3)}, tmp_path)
    assert code == generate.EXIT_OK, out + err


def certificate_template() -> Template:
    t = demo_template()
    t.add_parameter(
        Parameter(
            "CertificateArn",
            Type="String",
            Default="",
            AllowedPattern="^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[a-zA-Z0-9-]+$",
            Description="ARN of an ACM certificate",
        )
    )
    t.add_output(Output("Certificate", Value=Ref("CertificateArn")))
    return t


def test_placeholders_in_example_files_are_allowed_and_listed(tmp_path: Path) -> None:
    code, out, err = run({"cert": certificate_template}, tmp_path)
    assert code == generate.EXIT_OK, out + err
    assert (
        "cert: cert.prod.parameters.json holds placeholders to replace before deploying (deploy.py refuses "
        "them): CertificateArn"
    ) in out
    prod = json.loads((tmp_path / "cert.prod.parameters.json").read_text())["Parameters"]
    assert "REPLACE-WITH-" in prod["CertificateArn"]
    assert out.count("holds placeholders") == 1  # the dev and defaults files hold none


def retained_queue_template() -> Template:
    """A retained resource of a type cfnspec/resource_kinds.py has no entry for: the page cannot say what stays."""
    t = demo_template()
    t.add_resource(sqs.Queue("KeptQueue", DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))
    return t


def test_a_retained_type_the_page_has_no_entry_for_is_one_line_naming_the_table(tmp_path: Path) -> None:
    code, _, err = run({"kept": retained_queue_template}, tmp_path)
    assert code == generate.EXIT_FAILED
    assert "kept: writing the ops page failed: KeptQueue (AWS::SQS::Queue) is retained" in err
    assert "cfnspec/resource_kinds.py" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
