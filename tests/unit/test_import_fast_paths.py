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
