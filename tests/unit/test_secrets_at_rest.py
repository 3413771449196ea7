"""Credentials in logs never reach the workspace: the stored record and the stored raw text
hold `[redacted]` instead; `--redact` masks personal data at import as well."""

from __future__ import annotations

from pathlib import Path

import orjson

from reviewer.ingest.pipeline import Importer
from tests.conftest import records, rejects, run_import
from tests.unit.test_bad_input import COMPLETION

SECRETS = [
    "sk-proj-SECRETsecretSECRETsecret0001",
    "Bearer sk-ant-api03-SECRETsecretSECRET0002",
    "SECRETxapikey0003",
    "session=SECRETcookie0004",
    "SECRETlitellm0005",
    "Basic U0VDUkVUYmFzaWMwMDA2",
    "SECRETescaped0007",
    "SECRETheader0008",
]


def logged_lines() -> bytes:
    request = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Where is order A-1?"}],
        "api_key": SECRETS[0],
    }
    lines = [
        {  # a request logged with its HTTP headers
            "request": request,
            "request_headers": {
                "Authorization": SECRETS[1],
                "X-Api-Key": SECRETS[2],
                "Cookie": SECRETS[3],
                "Content-Type": "application/json",
            },
            "response": dict(COMPLETION, id="chatcmpl-s1"),
        },
        {  # LiteLLM-style parameters and headers as a list of pairs
            "request": dict(request, api_key=None, litellm_params={"api_key": SECRETS[4]}),
            "headers": [["authorization", SECRETS[5]], ["accept", "*/*"]],
            "response": dict(COMPLETION, id="chatcmpl-s2"),
        },
        {  # metadata as JSON text, and a curl command in a note
            "request": dict(request, api_key=None),
            "metadata": {
                "otel": orjson.dumps({"http.request.header.x-api-key": SECRETS[6]}).decode(),
                "api_key_json": '{"api_key": "' + SECRETS[6] + '"}',
                "curl": f"curl -H 'X-Api-Key: {SECRETS[7]}' https://api",
            },
            "response": dict(COMPLETION, id="chatcmpl-s3"),
        },
    ]
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def workspace_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_credentials_are_not_stored_anywhere(engine, tmp_path):
    path = tmp_path / "logs" / "calls.jsonl"
    path.parent.mkdir()
    broken = b'{"x-api-key": "' + SECRETS[2].encode() + b'", "oops"\n'  # not JSON: rejected
    path.write_bytes(logged_lines() + broken)
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (3, 1)
    engine.dispose()
    stored = workspace_bytes(tmp_path / "ws")
    assert not [s for s in SECRETS if s.encode() in stored]
    assert b"[redacted]" in stored
    for record in records(engine):
        raw = orjson.loads(record["raw"])  # still the JSON it was, with the values replaced
        assert "[redacted]" in record["raw"]
        assert raw["response"]["id"] == record["id"]
    first = orjson.loads(records(engine)[0]["raw"])
    assert first["request_headers"] == {
        "Authorization": "[redacted]",
        "X-Api-Key": "[redacted]",
        "Cookie": "[redacted]",
        "Content-Type": "application/json",
    }
    assert "[redacted]" in rejects(engine)[0]["raw"]


def test_credentials_are_masked_by_parsing_workers_too(engine, tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(logged_lines() * 400)
    Importer(engine, workers=2, parallel_min_bytes=0).run([str(path)])
    engine.dispose()
    stored = workspace_bytes(tmp_path / "ws")
    assert not [s for s in SECRETS if s.encode() in stored]


def test_import_redact_masks_personal_data_in_the_raw_text_too(engine, tmp_path):
    line = {
        "request": {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "user", "content": "I'm ana@example.com, IBAN DE89 3704 0044 0532 0130 00"}
            ],
        },
        "response": dict(COMPLETION, id="chatcmpl-p1"),
    }
    path = tmp_path / "calls.jsonl"
    path.write_bytes(orjson.dumps(line) + b"\n")
    Importer(engine, redact=True).run([str(path)])
    (record,) = records(engine)
    assert record["messages"][0]["content"] == "I'm [email], IBAN [iban]"
    assert "ana@example.com" not in record["raw"] and "DE89" not in record["raw"]
    engine.dispose()
    assert b"ana@example.com" not in workspace_bytes(tmp_path / "ws")
