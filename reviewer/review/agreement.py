"""Agreement between reviewers: Cohen's kappa (two raters) and Krippendorff's alpha (any number
of raters, missing values allowed; nominal, ordinal or interval data).

Both return None when agreement is undefined: no pairable data, or no variation at all (every
value the same, so chance agreement is already perfect).

References: J. Cohen, "A coefficient of agreement for nominal scales" (1960);
K. Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from typing import Any, Literal

Level = Literal["nominal", "ordinal", "interval"]


def cohens_kappa(pairs: Iterable[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa for two raters over the items both rated: (p_o - p_e) / (1 - p_e)."""
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(1 for a, b in pairs if a == b) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in first) / (n * n)
    if expected == 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(units: Iterable[Iterable[Any]], level: Level = "nominal") -> float | None:
    """Krippendorff's alpha: 1 - D_o / D_e over the coincidence matrix.

    `units` holds, per rated item, the values its raters gave (None for a rater who did not
    rate it; units with fewer than two values are not pairable and are left out). Ordinal and
    interval values must be numbers (ordinal values are ranked by their order).
    """
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"level is nominal, ordinal or interval, not {level!r}")
    coincidences: defaultdict[tuple[Any, Any], float] = defaultdict(float)
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                if pairs:
                    coincidences[(c, k)] += pairs / (m - 1)
    if not coincidences:
        return None
    totals: defaultdict[Any, float] = defaultdict(float)
    for (c, _k), o in coincidences.items():
        totals[c] += o
    n = sum(totals.values())
    values = sorted(totals) if level != "nominal" else list(totals)
    delta = _distance(level, values, totals)
    observed = sum(o * delta(c, k) for (c, k), o in coincidences.items())
    expected = sum(totals[c] * totals[k] * delta(c, k) for c in values for k in values) / (n - 1)
    if expected == 0:
        return None
    return 1.0 - observed / expected


def _distance(level: Level, values: list[Any], totals: dict[Any, float]) -> Any:
    """The squared difference function δ²(c, k) of the level of measurement."""
    if level == "nominal":
        return lambda c, k: 0.0 if c == k else 1.0
    if level == "interval":
        return lambda c, k: float(c - k) ** 2
    # ordinal: the marginal mass between the two values, halving the ends
    rank = {v: i for i, v in enumerate(values)}
    cumulative = [0.0]
    for v in values:
        cumulative.append(cumulative[-1] + totals[v])

    def ordinal(c: Any, k: Any) -> float:
        lo, hi = sorted((rank[c], rank[k]))
        between = cumulative[hi + 1] - cumulative[lo]
        return (between - (totals[c] + totals[k]) / 2.0) ** 2

    return ordinal


def weighted_kappa(pairs: Iterable[tuple[float, float]], values: list[float]) -> float | None:
    """Cohen's weighted kappa with quadratic weights over the ordered `values` of a scale:
    1 - sum(w * observed) / sum(w * expected), w = (i - j)^2 / (k - 1)^2."""
    pairs = [(a, b) for a, b in pairs if a in values and b in values]
    n = len(pairs)
    if n == 0 or len(values) < 2:
        return None
    index = {v: i for i, v in enumerate(values)}
    k = len(values)

    def weight(i: int, j: int) -> float:
        return (i - j) ** 2 / (k - 1) ** 2

    first = Counter(index[a] for a, _ in pairs)
    second = Counter(index[b] for _, b in pairs)
    observed = sum(weight(index[a], index[b]) for a, b in pairs) / n
    expected = sum(first[i] * second[j] * weight(i, j) for i in first for j in second) / (n * n)
    if expected == 0:
        return None
    return 1.0 - observed / expected
