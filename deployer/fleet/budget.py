"""One CloudFormation call budget per account and region, shared by every stack deployed there.

CloudFormation throttles per account and region, not per client: twenty clients each backing off on their own
still overrun the limit together. A token bucket per account+region spaces the calls before they are sent, so the
stacks share the rate instead of throttling each other into failure. botocore's retries stay as they are, for
throttling that comes from elsewhere (another tool on the same account).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TokenBucket:
    """`rate` calls per second on average, up to `burst` at once. Thread-safe; time comes from `clock`."""

    rate: float
    burst: int
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    calls: int = 0
    waited: float = 0.0
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)
        self._stamp = self.clock()

    def reserve(self) -> float:
        """Take one token now and return how long to wait before using it (0 when one was free)."""
        with self._lock:
            now = self.clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            # A deficit is a queue: each caller waits for the tokens of everyone ahead of it as well.
            self._tokens -= 1.0
            self.calls += 1
            delay = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            self.waited += delay
            return delay

    def take(self) -> None:
        delay = self.reserve()
        if delay > 0:
            self.sleep(delay)


@dataclass
class Budgets:
    """The buckets of one run, keyed by (account, region)."""

    rate: float
    burst: int
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    _buckets: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bucket(self, account: str, region: str) -> TokenBucket:
        with self._lock:
            key = (account, region)
            if key not in self._buckets:
                self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock, self.sleep)
            return self._buckets[key]

    def figures(self) -> dict[tuple[str, str], tuple[int, float]]:
        """(calls, seconds waited) per account and region."""
        with self._lock:
            return {key: (b.calls, b.waited) for key, b in self._buckets.items()}


def attach(client: Any, bucket: TokenBucket) -> None:
    """Every HTTP request of this client (retries included) takes a token first."""

    def before_send(**_: Any) -> None:
        bucket.take()
        return None  # a value here would replace the HTTP response

    # before-send fires for every attempt, so botocore's own retries are paced by the same budget.
    client.meta.events.register("before-send.cloudformation", before_send)
