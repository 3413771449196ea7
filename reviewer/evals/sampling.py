"""Figures of a sampled eval (`samples: n`): pass@k, pass^k, consistency and flaky cases.

A case answered n times, c of them passing:

- pass@k = 1 - C(n-c, k) / C(n, k): the chance that at least one of k answers drawn from the n
  passes (the unbiased estimator of Chen et al. 2021), averaged over the cases. pass@1 is the
  mean of c/n; pass@n is the share of cases with any passing answer.
- pass^k = C(c, k) / C(n, k): the chance that all k drawn answers pass, averaged over the cases;
  pass^n is the share of cases whose every answer passed.
- consistency = max(c, n-c) / n: the share of the answers that agree with the case's majority
  verdict (1 for a solid case, pass or fail; 0.6 for 3 of 5).
- a case is flaky when 0 < c < n.
- the case's verdict (`passed`) is its majority: c > n/2 (a tie, 2 of 4, is a fail), so a flaky
  case of 3 passes out of 5 passes, and `fixed`/`regressed` follow a change of the majority
  rather than the luck of one draw.

Pure functions: no database, no model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from math import comb
from typing import Any


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k): at least one of k answers drawn from the n passes."""
    _check(n, c, k)
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """C(c, k) / C(n, k): every one of k answers drawn from the n passes."""
    _check(n, c, k)
    return comb(c, k) / comb(n, k)


def _check(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, not n={n}, c={c}, k={k}")


def consistency(n: int, c: int) -> float:
    """The share of a case's answers that agree with its majority verdict."""
    return max(c, n - c) / n


def majority(n: int, c: int) -> bool:
    """A sampled case's verdict: more than half of its answers passed."""
    return 2 * c > n


def is_flaky(n: int, c: int) -> bool:
    """Some answers passed and some failed."""
    return 0 < c < n


@dataclass(slots=True)
class CaseSamples:
    """One graded case of a sampled run: n answers, c passing."""

    item_id: str
    n: int
    c: int

    @property
    def flaky(self) -> bool:
        return is_flaky(self.n, self.c)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "passed": self.c,
            "pass@1": self.c / self.n,
            f"pass^{self.n}": pass_hat_k(self.n, self.c, self.n),
            "consistency": consistency(self.n, self.c),
            "flaky": self.flaky,
        }


@dataclass(slots=True)
class SampleStats:
    """The sampled figures of a run, over its graded cases (rates in 0..1, None with no case).
    `samples` is the run's n; `flaky` the ids of the flaky cases, in the order given."""

    samples: int
    cases: int = 0
    pass_at_1: float | None = None
    pass_at_n: float | None = None
    pass_hat_n: float | None = None
    consistency: float | None = None
    flaky: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The figures under the keys `pass@1`, `pass@N`, `pass^N` (N the number of
        samples), `consistency` (the mean over the cases), `flaky` and `samples`."""
        n = self.samples
        return {
            "samples": n,
            "pass@1": self.pass_at_1,
            f"pass@{n}": self.pass_at_n,
            f"pass^{n}": self.pass_hat_n,
            "consistency": self.consistency,
            "flaky": list(self.flaky),
        }

    def as_fields(self) -> dict[str, Any]:
        return asdict(self)


def sample_stats(cases: Sequence[CaseSamples], samples: int) -> SampleStats:
    """pass@1, pass@n, pass^n (k = `samples`, or a case's own n when it has fewer), the mean
    consistency and the flaky cases."""
    stats = SampleStats(samples=samples, cases=len(cases))
    if not cases:
        return stats
    total = len(cases)
    stats.pass_at_1 = sum(c.c / c.n for c in cases) / total
    stats.pass_at_n = sum(pass_at_k(c.n, c.c, min(samples, c.n)) for c in cases) / total
    stats.pass_hat_n = sum(pass_hat_k(c.n, c.c, min(samples, c.n)) for c in cases) / total
    stats.consistency = sum(consistency(c.n, c.c) for c in cases) / total
    stats.flaky = [c.item_id for c in cases if c.flaky]
    return stats
