"""pass@k, pass^k, consistency and flaky cases against hand-computed values."""

from __future__ import annotations

import pytest

from reviewer.evals.sampling import (
    CaseSamples,
    consistency,
    is_flaky,
    majority,
    pass_at_k,
    pass_hat_k,
    sample_stats,
)


def test_three_of_five() -> None:
    assert pass_at_k(5, 3, 1) == pytest.approx(0.6)
    assert pass_at_k(5, 3, 5) == 1.0
    assert pass_hat_k(5, 3, 5) == 0.0
    # pass@2 = 1 - C(2,2)/C(5,2) = 1 - 1/10
    assert pass_at_k(5, 3, 2) == pytest.approx(0.9)
    # pass^2 = C(3,2)/C(5,2) = 3/10
    assert pass_hat_k(5, 3, 2) == pytest.approx(0.3)
    assert pass_hat_k(5, 3, 1) == pytest.approx(0.6)
    assert consistency(5, 3) == pytest.approx(0.6)
    assert majority(5, 3) is True and is_flaky(5, 3) is True


def test_with_k_equal_to_n_they_are_any_and_all() -> None:
    for c in range(6):
        assert pass_at_k(5, c, 5) == (1.0 if c > 0 else 0.0)
        assert pass_hat_k(5, c, 5) == (1.0 if c == 5 else 0.0)
    assert not is_flaky(5, 0) and not is_flaky(5, 5)
    assert consistency(5, 0) == consistency(5, 5) == 1.0


def test_majority_tie_is_a_fail() -> None:
    assert majority(4, 2) is False and majority(4, 3) is True and majority(1, 1) is True
    assert consistency(4, 2) == 0.5


def test_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="n=5, c=6, k=1"):
        pass_at_k(5, 6, 1)
    with pytest.raises(ValueError):
        pass_hat_k(5, 2, 6)


def test_stats_over_cases() -> None:
    cases = [CaseSamples("a", 5, 5), CaseSamples("b", 5, 3), CaseSamples("c", 5, 0)]
    stats = sample_stats(cases, 5)
    assert stats.pass_at_1 == pytest.approx((1 + 0.6 + 0) / 3)
    assert stats.pass_at_n == pytest.approx(2 / 3)
    assert stats.pass_hat_n == pytest.approx(1 / 3)
    assert stats.consistency == pytest.approx((1 + 0.6 + 1) / 3)
    assert stats.flaky == ["b"]
    doc = stats.to_dict()
    assert set(doc) == {"samples", "pass@1", "pass@5", "pass^5", "consistency", "flaky"}
    assert doc["pass^5"] == pytest.approx(1 / 3)
    assert cases[1].to_dict() == {
        "n": 5, "passed": 3, "pass@1": 0.6, "pass^5": 0.0, "consistency": 0.6, "flaky": True,
    }  # fmt: skip
    assert sample_stats([], 5).pass_at_1 is None
