"""The call budget: a token bucket per account and region, shared by every stack's thread (fake clock)."""

from __future__ import annotations

import threading

from deployer.fleet.budget import Budgets, TokenBucket
from tests.deploy.conftest import FakeClock


class FrozenClock:
    """Time stands still and sleeping only records: each call's send moment is exactly now + its wait."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sleeps: list[float] = []

    def time(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)


def test_a_burst_is_free_then_calls_are_spaced_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock.time, sleep=clock.sleep)
    waits = [bucket.reserve() for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]  # a queue: each waits for those ahead of it


def test_the_bucket_refills_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=2, clock=clock.time, sleep=clock.sleep)
    bucket.take()
    bucket.take()
    clock.now += 100.0  # a long pause does not bank more than the burst
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 1.0]


def test_twenty_stacks_in_one_account_and_region_share_one_rate() -> None:
    clock = FrozenClock()
    budgets = Budgets(rate=4.0, burst=8, clock=clock.time, sleep=clock.sleep)
    calls_per_stack = 10

    def stack() -> None:
        bucket = budgets.bucket("123456789012", "us-east-1")
        for _ in range(calls_per_stack):
            bucket.take()

    threads = [threading.Thread(target=stack) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = 20 * calls_per_stack
    calls, waited = budgets.figures()[("123456789012", "us-east-1")]
    assert calls == total
    # All threads queue on one bucket: after the burst of 8, one call every 1/4 s, whichever thread makes it.
    expected = [(k + 1) / 4.0 for k in range(total - 8)]
    assert sorted(clock.sleeps) == expected
    assert waited == sum(expected)


def test_other_regions_and_accounts_have_their_own_budget() -> None:
    clock = FakeClock()
    budgets = Budgets(rate=1.0, burst=1, clock=clock.time, sleep=clock.sleep)
    assert budgets.bucket("111111111111", "us-east-1").reserve() == 0.0
    assert budgets.bucket("111111111111", "eu-west-1").reserve() == 0.0
    assert budgets.bucket("222222222222", "us-east-1").reserve() == 0.0
    assert budgets.bucket("111111111111", "us-east-1").reserve() == 1.0
    assert budgets.bucket("111111111111", "us-east-1") is budgets.bucket("111111111111", "us-east-1")
