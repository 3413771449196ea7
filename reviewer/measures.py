"""Small statistics every layer shares (latency percentiles of eval runs and of insights, the
interval of a rate)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float, *, presorted: bool = False) -> float | None:
    """The q-th percentile (0..100) of `values` by linear interpolation between ranks; None
    when empty. `presorted=True` skips sorting values already in ascending order."""
    if not values:
        return None
    ordered = values if presorted else sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


#: z of a two-sided 95 % interval
Z95 = 1.959963984540054


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a rate of `successes` in `n` (a half success counts, as a
    tie does); None when n is 0."""
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)
