"""The per-call ``retry=`` override of the session's policy."""

from __future__ import annotations

from irods_provider.client import RetryPolicy


def test_none_and_true_keep_the_session_policy() -> None:
    policy = RetryPolicy(max_attempts=7)
    assert policy.override(None) is policy
    assert policy.override(True) is policy


def test_false_means_exactly_one_attempt_on_the_same_clock() -> None:
    def clock() -> float:
        return 42.0

    single = RetryPolicy(max_attempts=7, clock=clock).override(False)
    assert single.max_attempts == 1
    assert single.clock is clock


def test_a_policy_replaces_the_session_policy() -> None:
    other = RetryPolicy(max_attempts=2)
    assert RetryPolicy().override(other) is other
