"""The shortcuts of the import's hot path give exactly what the long way gives: detection that
skips formats by their `detect_keys`, and the credential pre-check on raw bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from reviewer.ingest.base import LogFormat
from reviewer.ingest.formats import Detector, all_formats

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _objects(value: Any, depth: int = 0) -> Iterator[Any]:
    """`value` and the objects nested in it (spans of a page, samples of a log, ...)."""
    yield value
    if depth >= 4:
        return
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        if isinstance(child, dict | list):
            yield from _objects(child, depth + 1)


def fixture_objects() -> list[Any]:
    found: list[Any] = []
    for path in sorted(FIXTURES.rglob("*.json*")):
        data = path.read_bytes()
        try:
            found.extend(_objects(orjson.loads(data)))
            continue
        except orjson.JSONDecodeError:
            pass
        for line in data.splitlines():
            try:
                found.extend(_objects(orjson.loads(line)))
            except orjson.JSONDecodeError:
                continue
    return found


def detect_the_long_way(formats: list[LogFormat], obj: Any) -> str | None:
    return next((f.name for f in formats if f.kind == "json" and f.detect(obj)), None)


def test_fixtures_are_many_and_of_many_formats() -> None:
    objects = fixture_objects()
    names = {detect_the_long_way(all_formats(), o) for o in objects}
    assert len(objects) > 2000
    assert len(names - {None}) >= 15


def test_skipping_formats_by_keys_detects_what_asking_each_format_detects() -> None:
    formats = all_formats()
    detector = Detector(formats)
    for obj in fixture_objects():
        got = detector.detect(obj, "json")
        assert (got.name if got else None) == detect_the_long_way(formats, obj), obj


def test_every_format_accepting_a_fixture_object_has_one_of_its_detect_keys() -> None:
    formats = [f for f in all_formats() if f.kind == "json" and f.detect_keys is not None]
    assert len(formats) >= 14
    for obj in fixture_objects():
        for fmt in formats:
            if fmt.detect(obj):
                assert isinstance(obj, dict) and not fmt.detect_keys.isdisjoint(obj), fmt.name


def test_the_remembered_key_sets_stay_few_and_do_not_change_answers() -> None:
    formats = all_formats()
    detector = Detector(formats)
    chat = {
        "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        "response": {"object": "chat.completion", "choices": [{"message": {"content": "yo"}}]},
    }
    for i in range(Detector.CACHE_SIZE * 3):
        assert detector.detect({**chat, f"extra_{i}": i}, "json").name == "openai-chat"
        assert len(detector._candidates) <= Detector.CACHE_SIZE
    wide = {**chat, **{f"k{i}": i for i in range(Detector.CACHE_KEYS + 1)}}
    assert detector.detect(wide, "json").name == "openai-chat"
    # same keys, values of another format: the remembered candidates still ask each format
    batch = {"custom_id": "r1", "response": {"status_code": 200, "body": {}}, "id": "b1"}
    assert detector.detect(batch, "json").name == "openai-batch"
    assert detector.detect({**batch, "custom_id": "r2"}, "json").name == "openai-batch"
    assert detector.detect(["not", "an", "object"], "json") is None
    assert detector.detect({"unknown": 1}, "json") is None


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_the_candidates_keep_the_registry_order(kind: str) -> None:
    detector = Detector(all_formats())
    names = [f.name for f in detector.by_kind[kind]]
    got = [f.name for f in detector.candidates({"request": {}, "custom_id": 1, "name": 2}, kind)]
    assert got == [n for n in names if n in got]


def _mixed_lines() -> list[bytes]:
    """Lines of several formats and outcomes, in runs and alone, across chunk borders."""
    from tests.unit.test_bad_input import good_line

    anthropic = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hello."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 12, "output_tokens": 3},
    }
    no_content = {  # a call logged without its content: counted as without_content
        "request": {"model": "gpt-4o-mini", "messages": []},
        "response": {"object": "chat.completion", "model": "gpt-4o-mini", "choices": [],
                     "usage": {"prompt_tokens": 5, "completion_tokens": 0}},
    }  # fmt: skip
    lines: list[bytes] = []
    for i in range(1300):
        if i % 97 == 5:
            lines.append(b"{not json\n")
        elif i % 89 == 7:
            lines.append(b"\n")
        elif i % 83 == 3:
            lines.append(orjson.dumps({"final_report": {"accuracy": 1.0}}) + b"\n")  # skipped
        elif i % 61 == 1:
            lines.append(orjson.dumps({"unknown": i}) + b"\n")
        elif i % 53 == 2:
            lines.append(orjson.dumps(dict(no_content, n=i)) + b"\n")
        elif 400 <= i < 460 or i % 37 == 4:
            lines.append(orjson.dumps(dict(anthropic, id=f"msg_{i}")) + b"\n")
        else:
            lines.append(good_line(i if i % 71 else 3))  # some duplicates
    return lines


def _outcome(engine: Any, report: Any) -> tuple[Any, ...]:
    from tests.conftest import records, rejects

    summary = report.to_dict()
    summary.pop("seconds")
    summary.pop("import_id")
    stored = [(r["id"], r["source_line"], r["source_format"]) for r in records(engine)]
    refused = [(r["line"], r["format"], r["reason"]) for r in rejects(engine)]
    return summary, stored, refused


def test_workers_count_runs_of_lines_as_one_process_does(tmp_path: Path) -> None:
    from reviewer.store.db import open_engine
    from tests.conftest import run_import

    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"".join(_mixed_lines()))
    got = []
    for workers in (0, 2):
        engine = open_engine(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        report = run_import(engine, path, workers=workers, parallel_min_bytes=0)
        got.append(_outcome(engine, report))
        engine.dispose()
    assert got[0] == got[1]
    files = {f["format"]: f for f in got[0][0]["files"]}
    assert list(files) == ["openai-chat", "unknown", "openai-evals", "anthropic"]
    chat, unknown = files["openai-chat"], files["unknown"]
    assert (chat["lines"], chat["imported"], chat["duplicates"]) == (1147, 1131, 16)
    assert chat["without_content"] == 24
    assert (unknown["lines"], unknown["rejected"]) == (35, 35)
    assert files["openai-evals"]["skipped"] == 16
    assert (files["anthropic"]["lines"], files["anthropic"]["imported"]) == (87, 87)
    assert got[0][0]["totals"]["lines"] == 1300 - 15  # the blank lines are not counted


# -- the credential pre-check --------------------------------------------------------------------

SECRET = "sk-live-Zq81xWm3Kd90pLr7"


def _spellings() -> list[str]:
    from reviewer.redact import CREDENTIAL_KEYS

    names: set[str] = set()
    for key in CREDENTIAL_KEYS:
        for base in (key, key.replace("_", "-")):
            names.update({base, base.upper(), base.title(), f"http.request.header.{base}"})
    return sorted(names)


def test_every_spelling_of_every_credential_key_passes_the_pre_check_as_bytes() -> None:
    from reviewer.redact import may_hold_credentials

    spellings = _spellings()
    assert len(spellings) > 150
    for name in spellings:
        for obj in ({name: SECRET}, {"request": {"headers": [{"x": {name: SECRET}}]}}):
            raw = orjson.dumps(obj)
            assert may_hold_credentials(raw), raw
            assert may_hold_credentials(raw.decode()), raw


def _chat_line(extra: dict[str, Any], n: int) -> dict[str, Any]:
    from tests.unit.test_bad_input import COMPLETION

    return {
        "request": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        "response": dict(COMPLETION, id=f"chatcmpl-cred-{n}"),
        **extra,
    }


def _escaped(text: str) -> str:
    """Every letter of `text` as a JSON \\u escape."""
    return "".join(f"\\u{ord(c):04x}" if c.isalpha() else c for c in text)


def test_no_spelling_of_a_credential_reaches_the_database(engine: Any, tmp_path: Path) -> None:
    from sqlalchemy import text

    from tests.conftest import run_import

    lines: list[bytes] = []
    for name in _spellings():
        n = len(lines)
        for extra in (
            {name: SECRET},
            {"metadata": {"client": {name: SECRET}}},
            {"request_headers": [{"name": name, "value": SECRET}]},
        ):
            lines.append(orjson.dumps(_chat_line(extra, len(lines))))
        # the key, then the key and the secret, written with \u escapes
        plain = orjson.dumps(_chat_line({"metadata": {name: SECRET}}, n + 3)).decode()
        lines.append(plain.replace(f'"{name}"', f'"{_escaped(name)}"').encode())
        lines.append(
            plain.replace(f'"{name}"', f'"{_escaped(name)}"')
            .replace(SECRET, _escaped(SECRET))
            .replace("chatcmpl-cred-", "chatcmpl-esc-")
            .encode()
        )
    path = tmp_path / "creds.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (len(lines), 0)
    secret_spellings = (SECRET, _escaped(SECRET), SECRET.lower(), "Zq81xWm3Kd90pLr7")
    with engine.connect() as conn:
        for column in ("raw", "metadata", "params", "messages", "output"):
            stored = conn.execute(text(f"SELECT {column} FROM records")).scalars().all()
            assert len(stored) == len(lines)
            for value in stored:
                assert not any(s in (value or "") for s in secret_spellings), (column, value)
        masked = conn.execute(
            text("SELECT raw FROM records WHERE id = 'chatcmpl-esc-3'")
        ).scalar_one()
    assert "[redacted]" in masked and "\\u" not in masked  # written anew from the item


def test_lines_without_credentials_keep_their_text_exactly(engine: Any, tmp_path: Path) -> None:
    from tests.conftest import records, run_import

    lines = [
        orjson.dumps(_chat_line({"note": "caf\u00e9 \u2615", "usage_tokens": 3}, 1)),
        orjson.dumps(_chat_line({}, 2)).replace(b'"hi"', b'"h\\u00e9llo \\u2615"'),
    ]
    path = tmp_path / "plain.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    run_import(engine, path)
    assert [r["raw"] for r in records(engine)] == [line.decode() for line in lines]
