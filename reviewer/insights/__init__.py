"""Insights: satisfaction, reviewer verdicts, failure themes, latency, tokens and cost over
time, and how well the themes are covered by dataset items and evals (`metrics`); steps, tokens,
cost, tool errors and marked steps per agent trace (`traces`)."""

from __future__ import annotations

from reviewer.insights.metrics import (
    Bucket,
    CoverageRow,
    Insights,
    InsightsError,
    Series,
    ThemeTrend,
    insights,
    record_ids_for,
)
from reviewer.insights.traces import MarkedRow, ToolRow, TraceBucket, TraceInsights

__all__ = [
    "Bucket",
    "CoverageRow",
    "Insights",
    "InsightsError",
    "MarkedRow",
    "Series",
    "ThemeTrend",
    "ToolRow",
    "TraceBucket",
    "TraceInsights",
    "insights",
    "record_ids_for",
]
