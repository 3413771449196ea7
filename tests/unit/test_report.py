"""`reviewer report`: one self-contained HTML page with the insights' charts and tables.

The page is checked as text (well-formed, escaped, nothing fetched from the network) and, where
Debian's Chromium is installed (`.ci/run` installs it), opened in headless Chromium: its DOM
holds the charts with their data points, and a screenshot renders.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from reviewer.insights.report import (
    CHARTS,
    bucket_label,
    fmt_cost,
    fmt_ms,
    fmt_pct,
    nice_max,
    render_report,
    series_name,
    trend,
)

EVIL = '<script>alert("x")</script>&'


def bucket(start: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "start": start,
        "records": 0,
        "feedback_n": 0,
        "satisfaction": None,
        "reviews_n": 0,
        "pass_rate": None,
        "errors": 0,
        "error_rate": None,
        "latency_p50": None,
        "latency_p95": None,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
    }
    row.update(values)
    return row


STARTS = ["2026-11-02", "2026-11-09", "2026-11-16"]


def sample() -> dict[str, Any]:
    """Two models over three weeks; the second week is empty for both; gpt-4o has no
    feedback at all, one theme name and one model name carry HTML."""
    mini = [
        bucket(
            STARTS[0],
            records=4,
            feedback_n=3,
            satisfaction=2 / 3,
            reviews_n=2,
            pass_rate=0.5,
            errors=1,
            error_rate=0.25,
            latency_p50=800.0,
            latency_p95=1900.0,
            input_tokens=400,
            output_tokens=120,
            cost_usd=0.0012,
        ),
        bucket(STARTS[1]),
        bucket(
            STARTS[2],
            records=2,
            feedback_n=2,
            satisfaction=1.0,
            reviews_n=1,
            pass_rate=1.0,
            latency_p50=700.0,
            latency_p95=900.0,
            input_tokens=200,
            output_tokens=60,
            cost_usd=0.0006,
        ),
    ]
    big = [
        bucket(
            STARTS[0],
            records=3,
            errors=0,
            error_rate=0.0,
            latency_p50=1500.0,
            latency_p95=4000.0,
            reviews_n=1,
            pass_rate=0.0,
        ),
        bucket(STARTS[1]),
        bucket(
            STARTS[2],
            records=1,
            errors=1,
            error_rate=1.0,
            latency_p50=2000.0,
            latency_p95=2000.0,
        ),
    ]
    return {
        "bucket": "week",
        "by": "model",
        "buckets": STARTS,
        "series": [
            {
                "key": "gpt-4o-mini",
                "buckets": mini,
                "totals": bucket(
                    "",
                    records=6,
                    feedback_n=5,
                    satisfaction=0.8,
                    reviews_n=3,
                    pass_rate=2 / 3,
                    errors=1,
                    error_rate=1 / 6,
                    latency_p50=750.0,
                    latency_p95=1900.0,
                    input_tokens=600,
                    output_tokens=180,
                    cost_usd=0.0018,
                ),
            },
            {
                "key": EVIL,
                "buckets": big,
                "totals": bucket(
                    "",
                    records=4,
                    reviews_n=1,
                    pass_rate=0.0,
                    errors=1,
                    error_rate=0.25,
                    latency_p50=1500.0,
                    latency_p95=4000.0,
                ),
            },
        ],
        "themes": [
            {"theme": "invented-policy", "total": 3, "per_bucket": [1, 0, 2]},
            {"theme": EVIL, "total": 1, "per_bucket": [1, 0, 0]},
        ],
        "coverage": [
            {
                "theme": "invented-policy",
                "reviewed": 3,
                "dataset_items": 2,
                "eval_pass_rate": 0.5,
                "gap": False,
            },
            {"theme": EVIL, "reviewed": 1, "dataset_items": 0, "eval_pass_rate": None, "gap": True},
        ],
    }


class Tree(HTMLParser):
    """Checks the tags nest (void elements aside) and collects elements and text."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "source", "col", "area", "base"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.decl: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.decl = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Tree:
    tree = Tree()
    tree.feed(page)
    tree.close()
    assert tree.errors == []
    assert tree.stack == []
    return tree


def by_id(tree: Tree, ident: str) -> dict[str, str | None]:
    found = [attrs for _tag, attrs in tree.elements if attrs.get("id") == ident]
    assert len(found) == 1, ident
    return found[0]


def svg_block(page: str, ident: str) -> str:
    match = re.search(rf'<svg id="{ident}".*?</svg>', page, re.S)
    assert match, ident
    return match.group(0)


PAGE = render_report(
    sample(), title="Support bot <weekly>", generated_at="2026-11-20 09:00 UTC", workspace="/ws/a&b"
)


def test_page_is_well_formed_html_with_a_header() -> None:
    tree = parse(PAGE)
    assert tree.decl == "DOCTYPE html"
    text = "".join(tree.text)
    assert "Support bot <weekly>" in text  # the title, escaped in the source, intact as text
    assert "/ws/a&b" in text
    assert "2026-11-02 to 2026-11-16 (3 weeks)" in text
    assert "2026-11-20 09:00 UTC" in text
    ids = {attrs.get("id") for _t, attrs in tree.elements}
    assert set(CHARTS) <= ids
    assert {"table-totals", "table-themes", "table-coverage"} <= ids


def test_every_chart_has_a_title() -> None:
    for ident, title in CHARTS.items():
        block = svg_block(PAGE, ident)
        assert f'<title id="{ident}-title">{title}</title>' in block
        assert 'role="img"' in block
    for i in range(2):
        assert f'<title id="spark-theme-{i}-title">' in svg_block(PAGE, f"spark-theme-{i}")


def test_log_and_user_text_is_escaped() -> None:
    assert "<script" not in PAGE
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in PAGE
    tree = parse(PAGE)
    assert not any(tag == "script" for tag, _ in tree.elements)
    assert EVIL in "".join(tree.text)  # the model name and the theme, as text


def test_nothing_is_loaded_from_anywhere() -> None:
    assert not re.search(r"https?:", PAGE, re.I)
    assert "//" not in re.sub(r"<style>.*?</style>", "", PAGE, flags=re.S).replace("://", "")
    tree = parse(PAGE)
    for tag, attrs in tree.elements:
        assert tag not in {"script", "link", "img", "iframe", "object", "embed"}
        assert "src" not in attrs and "href" not in attrs
    assert "@import" not in PAGE and "url(" not in PAGE


def test_line_charts_have_one_point_per_value_and_break_at_empty_periods() -> None:
    sat = svg_block(PAGE, "chart-satisfaction")
    # gpt-4o-mini: weeks 1 and 3 (week 2 empty); the other model has no feedback at all
    assert sat.count('class="point"') == 2
    assert 'class="line"' not in sat  # two values with a gap between: no line joins them
    assert "gpt-4o-mini · 2026-11-02: 67% (n=3)" in sat
    assert "gpt-4o-mini · 2026-11-16: 100% (n=2)" in sat
    passes = svg_block(PAGE, "chart-pass-rate")
    assert passes.count('class="point"') == 3  # mini weeks 1 and 3, the other week 1
    assert "· 2026-11-02: 0% (n=1)" in passes
    latency = svg_block(PAGE, "chart-latency")
    assert latency.count('class="point"') == 8  # 2 series x (p50 + p95) x 2 weeks
    assert latency.count('stroke-dasharray="6 4"') == 0  # no two consecutive values


def test_volume_bars_per_series_and_period_with_errors() -> None:
    volume = svg_block(PAGE, "chart-volume")
    assert volume.count('class="bar"') == 6  # 2 series x 3 weeks (empty week: zero height)
    assert volume.count('class="bar-error"') == 2
    assert "gpt-4o-mini · 2026-11-02: 4 records, 1 errors" in volume


def test_tables() -> None:
    totals = re.search(r'<table id="table-totals">.*?</table>', PAGE, re.S).group(0)
    assert totals.count("<tr>") == 3
    assert '80% <span class="n">n=5</span>' in totals
    assert "$0.0018" in totals and "750 ms" in totals and "4,000 ms" in totals
    themes = re.search(r'<table id="table-themes">.*?</table>', PAGE, re.S).group(0)
    assert "↑ rising" in themes  # 1 then 2
    assert "↓ falling" in themes  # 1 then 0
    coverage = re.search(r'<table id="table-coverage">.*?</table>', PAGE, re.S).group(0)
    assert coverage.count('<tr class="gap">') == 1
    assert coverage.count('<tr class="covered">') == 1
    assert "1 theme with reviews but no dataset items" in PAGE


def test_empty_insights_still_make_a_page() -> None:
    page = render_report(
        {"buckets": [], "series": [], "themes": [], "coverage": []},
        title="empty",
        generated_at="now",
    )
    parse(page)
    for ident in CHARTS:
        assert "no data in this period" in svg_block(page, ident)
    assert "no records in this period" in page and "no themes yet" in page


def test_formatting_helpers() -> None:
    assert bucket_label("2026-11-02T00:00:00.000000Z") == "2026-11-02"
    assert fmt_pct(None) == "–" and fmt_pct(2 / 3) == "67%"
    assert fmt_ms(950.4) == "950 ms" and fmt_ms(12_500) == "12.50 s"
    assert fmt_cost(0.00123) == "$0.0012" and fmt_cost(1234.5) == "$1,234.50"
    assert [nice_max(v) for v in (0, 0.7, 3, 4200, 9)] == [1.0, 1.0, 5.0, 5000.0, 10.0]
    assert trend([0, 0, 5]) == ("↑", "rising") and trend([3]) == ("→", "flat")


# -- in a browser ---------------------------------------------------------------------------------


def chromium() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


needs_chromium = pytest.mark.skipif(
    chromium() is None,
    reason="headless Chromium is not installed (apt-get install chromium; .ci/run installs it)",
)


@needs_chromium
def test_chromium_renders_the_charts(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(PAGE, encoding="utf-8")
    binary = chromium()
    assert binary
    done = run_chromium(binary, tmp_path / "profile", "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    for ident in CHARTS:
        assert f'<svg id="{ident}"' in dom
    assert svg_block(dom, "chart-satisfaction").count('class="point"') == 2
    assert svg_block(dom, "chart-latency").count('class="point"') == 8
    assert svg_block(dom, "chart-volume").count('class="bar"') == 6
    assert "<script" not in dom
    shot = tmp_path / "report.png"
    done = run_chromium(
        binary,
        tmp_path / "profile2",
        f"--screenshot={shot}",
        "--window-size=1200,2400",
        path.as_uri(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 0
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- end to end: the sample logs, a few reviews, the command --------------------------------------


def reviewed_workspace(engine: Any) -> None:
    """The sample logs, a queue of the gpt-4o calls, three reviews (two fails with themes, one
    promoted to a dataset) so pass rates and theme coverage exist."""
    from datetime import UTC, datetime

    from reviewer.datasets.promote import PromotingSession
    from reviewer.review.queues import parse_queue
    from reviewer.review.sync import sync_queues
    from tests.conftest import SAMPLE_LOGS, run_import

    run_import(engine, SAMPLE_LOGS)
    queue = parse_queue(
        {"name": "big-model", "filter": {"model": "gpt-4o"}, "dataset": "regressions"},
        "queues/big-model.yaml",
    )
    sync_queues(engine, [queue], datetime(2026, 11, 21, tzinfo=UTC))
    session = PromotingSession(engine, queue, "ana")
    first = session.next_item()
    assert first is not None
    session.set_verdict(first, "fail")
    session.set_themes(first, ["invented policy"])
    session.promote(first)
    second = session.next_item()
    assert second is not None
    session.set_verdict(second, "fail")
    session.set_themes(second, ["wrong <language>"])
    third = session.next_item()
    assert third is not None
    session.set_verdict(third, "pass")


def test_write_report_from_the_database(engine: Any, tmp_path: Path) -> None:
    from reviewer.insights.report import write_report

    reviewed_workspace(engine)
    path = tmp_path / "out" / "report.html"
    data = write_report(
        engine, path, title="Cobbler & Co", generated_at="then", bucket="week", by="model"
    )
    page = path.read_text(encoding="utf-8")
    tree = parse(page)
    assert not re.search(r"https?:", page, re.I)
    assert "Cobbler &amp; Co" in page
    assert "wrong-&lt;language&gt;" in page and "<language>" not in page
    for ident in CHARTS:
        assert f'<svg id="{ident}"' in page
    assert len(data["buckets"]) >= 4  # 2026-10-24 to 2026-11-20
    names = {series_name(s["key"]) for s in data["series"]}
    assert {"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "claude-haiku-4-5"} <= names
    # one sparkline per theme, the unpromoted one flagged as a gap
    assert {a.get("id") for _t, a in tree.elements} >= {
        f"spark-theme-{i}" for i in range(len(data["themes"]))
    }
    coverage = re.search(r'<table id="table-coverage">.*?</table>', page, re.S).group(0)
    gap_row = re.search(r'<tr class="gap">.*?</tr>', coverage, re.S)
    assert gap_row and "wrong-&lt;language&gt;" in gap_row.group(0)
    assert path.stat().st_mode & 0o044 == 0o044  # readable by others: it is meant to be shared


def test_report_command(engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from reviewer.cli import app

    workspace = tmp_path / "ws"
    reviewed_workspace(engine)
    monkeypatch.chdir(workspace)
    runner = CliRunner()
    done = runner.invoke(app, ["-w", str(workspace), "report", "-o", "r.html", "--bucket", "day"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("wrote r.html: ")
    page = (workspace / "r.html").read_text(encoding="utf-8")
    assert "Split by</dt><dd>model" in page and " days)" in page
    bad = runner.invoke(app, ["-w", str(workspace), "report", "--by", "colour"])
    assert bad.exit_code == 2
    assert "--by is model, prompt or queue" in bad.output
    weeks = runner.invoke(
        app,
        ["-w", str(workspace), "report", "-o", "w.html", "--by", "queue", "--since", "2026-11-09"],
    )
    assert weeks.exit_code == 0, weeks.output
    assert weeks.output.startswith("wrote w.html: 2 weeks, ")  # the weeks of 11-09 and 11-16
    page = (workspace / "w.html").read_text(encoding="utf-8")
    assert "2026-11-09 to 2026-11-16 (2 weeks)" in page and "big-model" in page
    bad = runner.invoke(app, ["-w", str(workspace), "report", "--since", "last tuesday"])
    assert bad.exit_code == 2 and "reviewer: " in bad.output
    unwritable = runner.invoke(
        app, ["-w", str(workspace), "report", "-o", str(workspace / "r.html" / "x.html")]
    )
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.output


@needs_chromium
def test_chromium_opens_the_report_of_the_sample_logs(engine: Any, tmp_path: Path) -> None:
    from reviewer.insights.report import write_report

    reviewed_workspace(engine)
    path = tmp_path / "report.html"
    data = write_report(engine, path, title="Cobbler & Co", bucket="week", by="model")
    binary = chromium()
    assert binary
    done = run_chromium(binary, tmp_path / "profile", "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    for ident in CHARTS:
        assert f'<svg id="{ident}"' in dom
    defined = sum(
        1 for s in data["series"] for b in s["buckets"] if b.get("satisfaction") is not None
    )
    assert svg_block(dom, "chart-satisfaction").count('class="point"') == defined > 0
    reviewed = sum(
        1 for s in data["series"] for b in s["buckets"] if b.get("pass_rate") is not None
    )
    assert svg_block(dom, "chart-pass-rate").count('class="point"') == reviewed > 0
    assert svg_block(dom, "chart-volume").count('class="bar"') == len(data["series"]) * len(
        data["buckets"]
    )
    for i in range(len(data["themes"])):
        assert f'<svg id="spark-theme-{i}"' in dom
    shot = tmp_path / "report.png"
    done = run_chromium(
        binary,
        tmp_path / "profile2",
        f"--screenshot={shot}",
        "--window-size=1200,2600",
        path.as_uri(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 0
