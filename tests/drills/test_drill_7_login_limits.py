"""The login limiter on its own, on a fake clock: limits, Retry-After, the window sliding."""

from __future__ import annotations

from web.login_limits import Limits, LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_account_limit_then_window_slides():
    clock = Clock()
    limiter = LoginLimiter(Limits(account=3, client=100, window=60.0), clock)
    for _ in range(3):
        assert limiter.retry_after("a@example.com", "1.2.3.4") is None
        limiter.failed("a@example.com", "1.2.3.4")
        clock.now += 10
    assert limiter.retry_after("a@example.com", "5.6.7.8") == 30  # first failure + 60 s
    assert limiter.retry_after("b@example.com", "1.2.3.4") is None
    clock.now += 31
    assert limiter.retry_after("a@example.com", "1.2.3.4") is None


def test_client_limit_covers_every_account():
    limiter = LoginLimiter(Limits(account=100, client=2, window=60.0), Clock())
    limiter.failed("a@example.com", "9.9.9.9")
    limiter.failed("b@example.com", "9.9.9.9")
    assert limiter.retry_after("c@example.com", "9.9.9.9") == 60
    assert limiter.retry_after("c@example.com", "8.8.8.8") is None


def test_success_clears_the_account_and_memory_is_bounded():
    limiter = LoginLimiter(Limits(account=1, client=1000, window=60.0, max_keys=10), Clock())
    limiter.failed("a@example.com", "1.1.1.1")
    limiter.succeeded("a@example.com")
    assert limiter.retry_after("a@example.com", "2.2.2.2") is None
    for n in range(50):
        limiter.failed(f"u{n}@example.com", f"10.0.0.{n}")
    assert len(limiter._failures) <= 10
