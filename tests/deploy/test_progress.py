"""Progress while waiting: N/M resources against the change set, and a heartbeat line in CI on the injected clock."""

from __future__ import annotations

import io
from typing import Any

import pytest

from deployer.errors import ExitCode
from deployer.output import LiveReporter, PlainReporter
from tests.deploy.conftest import STACK, STACK_ID, FakeClock, Harness, change
from tests.deploy.test_stack_state_scenarios import PREVIOUS

pytestmark = pytest.mark.deploy


def _event(logical_id: str, status: str, rtype: str = "AWS::EC2::NatGateway") -> dict[str, Any]:
    own = logical_id == STACK
    return {
        "StackId": STACK_ID,
        "StackName": STACK,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": STACK_ID if own else f"phys-{logical_id}",
        "ResourceType": "AWS::CloudFormation::Stack" if own else rtype,
        "ResourceStatus": status,
    }


def test_ci_heartbeat_names_what_is_still_in_progress_for_how_long_and_the_count() -> None:
    out, clock = io.StringIO(), FakeClock()
    reporter = PlainReporter(out, clock.time)
    reporter.expect(41)
    reporter.event(_event(STACK, "UPDATE_IN_PROGRESS"))
    for done in range(14):
        reporter.event(_event(f"Done{done}", "UPDATE_COMPLETE"))
    clock.sleep(50)
    reporter.event(_event("NatGatewayA", "CREATE_IN_PROGRESS"))
    clock.sleep(65)
    reporter.event(_event("LoadBalancer", "CREATE_IN_PROGRESS", "AWS::ElasticLoadBalancingV2::LoadBalancer"))
    clock.sleep(125)
    reporter.progress(STACK, "UPDATE_IN_PROGRESS", 240)
    beats = [line for line in out.getvalue().splitlines() if line.startswith("still in progress")]
    assert beats == [
        "still in progress after 4m00s: NatGatewayA (3m10s), LoadBalancer (2m05s); 14/41 resources"
    ]


def test_ci_heartbeat_comes_once_a_minute_of_the_clock_not_once_per_poll() -> None:
    out, clock = io.StringIO(), FakeClock()
    reporter = PlainReporter(out, clock.time)
    reporter.expect(2)
    reporter.event(_event("NatGatewayA", "CREATE_IN_PROGRESS"))
    for _ in range(30):  # 150 s of polls every 5 s
        clock.sleep(5)
        reporter.progress(STACK, "CREATE_IN_PROGRESS", clock.now)
    beats = [line for line in out.getvalue().splitlines() if line.startswith("still in progress")]
    assert beats == [
        "still in progress after 1m00s: NatGatewayA (1m00s); 0/2 resources",
        "still in progress after 2m00s: NatGatewayA (2m00s); 0/2 resources",
    ]


def test_the_stack_itself_is_not_counted_but_a_nested_stack_is() -> None:
    out, clock = io.StringIO(), FakeClock()
    reporter = LiveReporter(out, clock.time)
    reporter.expect(3)
    reporter.event(_event(STACK, "CREATE_IN_PROGRESS"))
    reporter.event(_event("Network", "CREATE_COMPLETE", "AWS::CloudFormation::Stack"))
    reporter.event(_event("Topic", "CREATE_COMPLETE", "AWS::SNS::Topic"))
    reporter.event(_event(STACK, "CREATE_COMPLETE"))
    reporter.progress(STACK, "CREATE_COMPLETE", 12)
    assert "2/3 resources, 0 in progress, 0 failed" in out.getvalue()


def test_a_replaced_resource_counts_once_when_its_old_copy_is_deleted() -> None:
    out, clock = io.StringIO(), FakeClock()
    reporter = LiveReporter(out, clock.time)
    reporter.expect(1)
    for status in ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"):
        reporter.event(_event("Bucket", status, "AWS::S3::Bucket"))
    reporter.progress(STACK, "UPDATE_COMPLETE", 12)
    assert out.getvalue().rstrip().endswith("1/1 resources, 0 in progress, 0 failed")


def test_deploy_in_ci_prints_the_heartbeat_with_the_change_set_total(harness: Harness) -> None:
    harness.expect_stack("UPDATE_COMPLETE", Parameters=PREVIOUS)
    harness.expect_no_old_change_sets()
    harness.expect_create_change_set("UPDATE")
    harness.expect_change_set_status("CREATE_COMPLETE")
    harness.expect_change_set_pages([[change("Modify", "Topic", "False"), change("Add", "Queue")]])
    old = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([old])
    harness.expect_execute()
    begun = harness.event(STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    topic = harness.event("Topic", "UPDATE_IN_PROGRESS")
    harness.expect_events([topic, begun, old])
    for _ in range(12):  # a poll every 5 s: a minute with nothing new
        harness.expect_events([topic, begun, old])
    harness.expect_stack("UPDATE_IN_PROGRESS", name=STACK_ID)  # the once-a-minute safety read
    harness.expect_events([topic, begun, old])
    done = harness.event("Topic", "UPDATE_COMPLETE")
    queue = harness.event("Queue", "CREATE_COMPLETE")
    end = harness.event(STACK, "UPDATE_COMPLETE")
    harness.expect_events([end, queue, done, topic, begun, old])
    harness.expect_stack("UPDATE_COMPLETE", name=STACK_ID)
    harness.expect_policy_read()  # an update without a policy of its own checks for one left open
    five_seconds = ("--poll-interval", "5", "--max-poll-interval", "5")
    assert harness.run(*harness.deploy_args(*five_seconds)) == ExitCode.SUCCESS
    beats = [line for line in harness.output.splitlines() if line.startswith("still in progress")]
    # The minute counts from ExecuteChangeSet; Topic from the poll that first saw it in progress.
    assert beats == ["still in progress after 1m00s: Topic (55s); 0/2 resources"]
