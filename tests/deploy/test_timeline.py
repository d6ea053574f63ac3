"""The timeline of an operation: bars from DescribeStackEvents (paged), outcomes, critical path, one safe file."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

import deploy
from deployer.arguments import build_parser
from deployer.errors import ExitCode
from deployer.timeline_model import Bar, Operation, bars, critical_path, select_operation
from deployer.timeline_render import COLOURS
from emulator.server import MotoServer
from tests.deploy.conftest import SMALL_TEMPLATE, STACK, STACK_ID, T0, Harness, change
from tests.deploy.test_stack_state_scenarios import PREVIOUS

pytestmark = pytest.mark.deploy

TOKEN = "tap-deploy-exec-0123"
EVIL = 'Quota <NatGateway> "exceeded" & <script>alert(1)</script>'


def ev(
    at: int,
    logical_id: str,
    status: str,
    reason: str = "",
    rtype: str = "AWS::EC2::Subnet",
    token: str = TOKEN,
) -> dict[str, Any]:
    own = logical_id == STACK
    event: dict[str, Any] = {
        "StackId": STACK_ID,
        "EventId": f"{logical_id}-{status}-{at}",
        "StackName": STACK,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": STACK_ID if own else f"phys-{logical_id}",
        "ResourceType": "AWS::CloudFormation::Stack" if own else rtype,
        "Timestamp": T0 + timedelta(seconds=at),
        "ResourceStatus": status,
        "ClientRequestToken": token,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def failed_create() -> list[dict[str, Any]]:
    """A create whose NAT gateway failed: the load balancer is cancelled, the bucket rolled back. Oldest first."""
    return [
        ev(0, STACK, "CREATE_IN_PROGRESS", "User Initiated"),
        ev(1, "Vpc", "CREATE_IN_PROGRESS", rtype="AWS::EC2::VPC"),
        ev(2, "LogBucket", "CREATE_IN_PROGRESS", rtype="AWS::S3::Bucket"),
        ev(20, "Vpc", "CREATE_COMPLETE", rtype="AWS::EC2::VPC"),
        ev(21, "SubnetA", "CREATE_IN_PROGRESS"),
        ev(25, "SubnetA", "CREATE_COMPLETE"),
        ev(26, "NatGatewayA", "CREATE_IN_PROGRESS", rtype="AWS::EC2::NatGateway"),
        ev(27, "LoadBalancer", "CREATE_IN_PROGRESS", rtype="AWS::ElasticLoadBalancingV2::LoadBalancer"),
        ev(30, "LogBucket", "CREATE_COMPLETE", rtype="AWS::S3::Bucket"),
        ev(210, "NatGatewayA", "CREATE_FAILED", EVIL, rtype="AWS::EC2::NatGateway"),
        ev(
            211,
            "LoadBalancer",
            "CREATE_FAILED",
            "Resource creation cancelled",
            rtype="AWS::ElasticLoadBalancingV2::LoadBalancer",
        ),
        ev(212, STACK, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [NatGatewayA]."),
        ev(215, "LogBucket", "DELETE_IN_PROGRESS", rtype="AWS::S3::Bucket"),
        ev(230, "LogBucket", "DELETE_COMPLETE", rtype="AWS::S3::Bucket"),
        ev(240, STACK, "ROLLBACK_COMPLETE"),
    ]


def successful_update(token: str = "tap-deploy-exec-9999", offset: int = 1000) -> list[dict[str, Any]]:
    def at(s: int, lid: str, status: str, rtype: str = "AWS::EC2::Subnet") -> dict[str, Any]:
        return ev(offset + s, lid, status, rtype=rtype, token=token)

    return [
        at(0, STACK, "UPDATE_IN_PROGRESS"),
        at(1, "Role", "UPDATE_IN_PROGRESS", "AWS::IAM::Role"),
        at(2, "Topic", "UPDATE_IN_PROGRESS", "AWS::SNS::Topic"),
        at(5, "Topic", "UPDATE_COMPLETE", "AWS::SNS::Topic"),
        at(40, "Role", "UPDATE_COMPLETE", "AWS::IAM::Role"),
        at(41, "Profile", "UPDATE_IN_PROGRESS", "AWS::IAM::InstanceProfile"),
        at(100, "Profile", "UPDATE_COMPLETE", "AWS::IAM::InstanceProfile"),
        at(101, "Fleet", "UPDATE_IN_PROGRESS", "AWS::AutoScaling::AutoScalingGroup"),
        at(50, "Alarm", "UPDATE_IN_PROGRESS", "AWS::CloudWatch::Alarm"),
        at(60, "Alarm", "UPDATE_COMPLETE", "AWS::CloudWatch::Alarm"),
        at(300, "Fleet", "UPDATE_COMPLETE", "AWS::AutoScaling::AutoScalingGroup"),
        at(301, STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        at(305, STACK, "UPDATE_COMPLETE"),
    ]


def operation(events: list[dict[str, Any]]) -> Operation:
    return select_operation(reversed(sorted(events, key=lambda e: e["Timestamp"])), None, STACK)


def by_id(drawn: list[Bar]) -> dict[str, Bar]:
    return {b.logical_id: b for b in drawn}


def test_one_bar_per_resource_from_first_in_progress_to_last_end_the_stack_left_out() -> None:
    drawn = by_id(bars(operation(failed_create())))
    assert sorted(drawn) == ["LoadBalancer", "LogBucket", "NatGatewayA", "SubnetA", "Vpc"]
    bucket = drawn["LogBucket"]
    assert (bucket.start - T0, bucket.end - T0) == (timedelta(seconds=2), timedelta(seconds=230))


def test_outcomes_tell_the_root_failure_from_the_cancelled_and_the_rolled_back() -> None:
    outcomes = {lid: b.outcome for lid, b in by_id(bars(operation(failed_create()))).items()}
    assert outcomes == {
        "Vpc": "complete",
        "SubnetA": "complete",
        "NatGatewayA": "failed",
        "LoadBalancer": "cancelled",
        "LogBucket": "rolled-back",
    }


def test_critical_path_is_the_chain_that_ends_last_each_starting_after_the_previous_ended() -> None:
    drawn = bars(operation(successful_update()))
    path = critical_path(drawn)
    assert [b.logical_id for b, _ in path] == ["Role", "Profile", "Fleet"]
    assert all(after.start >= before.end for (_, before), (_, after) in pairwise(path))


def test_the_critical_path_follows_phases_of_work_not_the_idle_time_before_a_rollback() -> None:
    path = critical_path(bars(operation(failed_create())))
    # The bucket was made in 28 s and deleted 3 minutes later by the rollback: that wait was not its work.
    steps = [(b.logical_id, int((p.start - T0).total_seconds()), int(p.seconds)) for b, p in path]
    assert steps == [("Vpc", 1, 19), ("SubnetA", 21, 4), ("LoadBalancer", 27, 184), ("LogBucket", 215, 15)]


def test_a_resource_still_in_progress_ends_at_the_last_event_and_says_so() -> None:
    events = successful_update()[:8]  # Fleet has just started
    fleet = by_id(bars(operation(events)))["Fleet"]
    assert fleet.outcome == "in-progress" and fleet.end == max(e["Timestamp"] for e in events)


def test_an_operation_is_chosen_by_its_client_request_token_or_its_start_event_id() -> None:
    newest_first = list(reversed(failed_create() + successful_update()))
    last = select_operation(iter(newest_first), None, STACK)
    assert last.status == "UPDATE_COMPLETE"
    by_token = select_operation(iter(newest_first), TOKEN, STACK)
    by_event = select_operation(iter(newest_first), f"{STACK}-CREATE_IN_PROGRESS-0", STACK)
    assert by_token.events == by_event.events and by_token.status == "ROLLBACK_COMPLETE"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _svg_root(text: str) -> ET.Element:
    body = text[text.index("<svg") : text.index("</svg>") + len("</svg>")]
    return ET.fromstring(body)


def _run_timeline(harness: Harness, output: Path, *extra: str) -> int:
    """The command over two pages of events: the update (newest) on the first, the failed create on the second."""
    harness.expect_stack("UPDATE_COMPLETE")
    harness.expect_events(list(reversed(successful_update())), next_token="page-2")
    if extra:  # the create is only on the second page
        harness.expect_events(list(reversed(failed_create())), token="page-2")
    return harness.run("timeline", "--stack-name", STACK, "--output", str(output), *extra)


def test_timeline_html_is_one_self_contained_page_with_a_bar_per_resource(harness: Harness) -> None:
    out = harness.tmp / "timeline.html"
    assert _run_timeline(harness, out, "--operation", TOKEN) == ExitCode.SUCCESS
    text = out.read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(text)
    assert not re.search(r"https?://", text)
    assert not [
        t for t, a in parser.tags if t in {"script", "link", "img", "iframe"} or "src" in a or "href" in a
    ]
    assert "@import" not in text and "url(" not in text
    root = _svg_root(text)
    drawn = [r for r in root.iter("rect") if "bar" in (r.get("class") or "").split()]
    assert sorted(r.get("data-resource") for r in drawn) == [
        "LoadBalancer",
        "LogBucket",
        "NatGatewayA",
        "SubnetA",
        "Vpc",
    ]
    assert {r.get("data-resource"): r.get("fill") for r in drawn} == {
        "Vpc": COLOURS["complete"],
        "SubnetA": COLOURS["complete"],
        "NatGatewayA": COLOURS["failed"],
        "LoadBalancer": COLOURS["cancelled"],
        "LogBucket": COLOURS["rolled-back"],
    }
    # The failure's reason is a label beside its bar, escaped: text, never markup.
    labels = {
        t.get("data-resource"): "".join(t.itertext())
        for t in root.iter("text")
        if t.get("class") == "failure-label"
    }
    assert labels["NatGatewayA"] == EVIL and labels["LoadBalancer"] == "Resource creation cancelled"
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Critical path" in text and f"wrote the timeline of {STACK}" in harness.output.lower()


def test_timeline_svg_alone_marks_the_critical_path(harness: Harness) -> None:
    out = harness.tmp / "timeline.svg"
    assert _run_timeline(harness, out) == ExitCode.SUCCESS
    text = out.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    ns = "{http://www.w3.org/2000/svg}"
    # The namespace is the file's only http(s) string: an identifier, nothing is fetched from it.
    assert not re.search(r"https?://", text.replace('xmlns="http://www.w3.org/2000/svg"', ""))
    critical = [
        r.get("data-resource") for r in root.iter(f"{ns}rect") if "critical" in (r.get("class") or "")
    ]
    marks = ["".join(t.itertext()) for t in root.iter(f"{ns}text") if t.get("class") == "critical-mark"]
    links = [p for p in root.iter(f"{ns}polyline") if p.get("class") == "critical-link"]
    assert critical == ["Role", "Profile", "Fleet"] and marks == ["1", "2", "3"] and len(links) == 2
    assert "Critical path: Role -> Profile -> Fleet" in harness.output.replace(
        "critical path", "Critical path"
    )


def test_an_unknown_operation_is_bad_input_naming_the_recent_ones(harness: Harness) -> None:
    out = harness.tmp / "timeline.html"
    assert _run_timeline(harness, out, "--operation", "nope") == ExitCode.BAD_INPUT
    assert "no operation of stack app has the ClientRequestToken or event id 'nope'" in harness.errors
    assert "tap-deploy-exec-9999 (UPDATE_IN_PROGRESS)" in harness.errors and not out.exists()


@pytest.mark.parametrize("name", ["timeline.png", "missing-dir/timeline.html"])
def test_a_timeline_file_that_cannot_be_written_is_refused_before_any_call(
    harness: Harness, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = harness.run(*harness.deploy_args("--timeline-file", str(harness.tmp / name)))
    usage_error = capsys.readouterr().err  # argparse's own message, as for every malformed argument
    assert code == ExitCode.BAD_INPUT and "argument --timeline-file" in usage_error and not harness.calls


def test_deploy_writes_the_timeline_file_when_the_execution_fails(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False")]])
    old = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([old])
    harness.expect_execute()
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    working = harness.event("Topic", "UPDATE_IN_PROGRESS")
    failed = harness.event("Topic", "UPDATE_FAILED", "Topic policy is <invalid>")
    done = harness.event(STACK, "UPDATE_ROLLBACK_COMPLETE")
    harness.expect_events([done, failed, working, begun, old])
    harness.expect_stack("UPDATE_ROLLBACK_COMPLETE", name=STACK_ID)
    harness.expect_events([done, failed, working, begun, old])  # the timeline's own read, back to `begun`
    out = harness.tmp / "run.svg"
    assert harness.run(*harness.deploy_args("--timeline-file", str(out))) == ExitCode.STACK_FAILED
    root = ET.fromstring(out.read_text(encoding="utf-8"))
    ns = "{http://www.w3.org/2000/svg}"
    drawn = {
        r.get("data-resource"): r.get("data-outcome")
        for r in root.iter(f"{ns}rect")
        if r.get("class") == "bar"
    }
    assert drawn == {"Topic": "failed"}
    assert f"Wrote the timeline of {STACK}'s UPDATE_ROLLBACK_COMPLETE operation" in harness.output


def test_execute_takes_the_timeline_file_and_plan_which_executes_nothing_does_not(tmp_path: Path) -> None:
    target = str(tmp_path / "t.html")
    args = build_parser().parse_args(
        ["execute", "--stack-name", STACK, "--change-set-name", "cs", "--timeline-file", target]
    )
    assert args.timeline_file == Path(target)
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["plan", "--stack-name", STACK, "--template-file", "t.json", "--timeline-file", target]
        )


def test_against_the_emulator_deploy_and_the_command_write_the_timeline(
    moto: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # moto writes only the stack's own events for an execution (moto-notes): the round trip checks the calls,
    # the paging and the file; bars and outcomes are covered by the Stubber tests above.
    template = tmp_path / "t.json"
    template.write_text(json.dumps(SMALL_TEMPLATE), encoding="utf-8")
    fast = [
        "--endpoint-url",
        moto.endpoint,
        "--poll-interval",
        "0",
        "--max-poll-interval",
        "0",
        "--timeout",
        "30s",
    ]
    after = tmp_path / "after.svg"
    args = ["--stack-name", "tl", "--template-file", str(template), "--timeline-file", str(after), "--yes"]
    assert deploy.main(["deploy", *args, *fast]) == ExitCode.SUCCESS
    again = tmp_path / "again.html"
    assert deploy.main(["timeline", "--stack-name", "tl", "--output", str(again), *fast]) == ExitCode.SUCCESS
    title = ET.fromstring(after.read_text(encoding="utf-8")).find("{http://www.w3.org/2000/svg}title")
    assert title is not None and (title.text or "").startswith("tl: CREATE_COMPLETE in ")
    assert "tl: CREATE_COMPLETE in " in again.read_text(encoding="utf-8")
    assert (
        deploy.main(["timeline", "--stack-name", "missing", "--output", str(again), *fast])
        == ExitCode.BAD_INPUT
    )
