"""Small statistics every layer shares (latency percentiles of eval runs and of insights)."""

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
