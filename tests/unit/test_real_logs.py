"""Every file under tests/fixtures/real_logs imports in one call, each in its own format, zero rejects."""

from __future__ import annotations

from tests.conftest import REAL_LOGS, records, run_import

EXPECTED = {
    # file: (format, records, skipped lines); a Langfuse download gives its trace's root step,
    # its LLM calls and its other observations; a LangSmith payload one record per run
    "bedrock-invocation-log/converse-stream-nova-lite.json": ("bedrock", 1, 0),
    "boto3-converse/converse-tool-use.jsonl": ("bedrock", 2, 0),
    "ellmer-batch-anthropic/state-capitals-anthropic.json": ("anthropic-batch", 4, 0),
    "ellmer-batch-groq-chatcompletions/state-capitals-groq.json": ("openai-batch", 4, 0),
    "ellmer-batch-openai-responses/state-capitals.json": ("openai-batch", 4, 0),
    "google-genai-sdk-offline/generate_content.jsonl": ("gemini", 3, 0),
    "inspect-dataset/dataset.jsonl": ("inspect-dataset", 10, 0),
    "inspect-dataset/samples-mcq.jsonl": ("inspect-dataset", 1, 0),
    "inspect-eval-log/2025-05-12T20-28-13-04-00_popularity.json": ("inspect", 9, 0),
    "inspect-eval-zip/orders-tool-errors.eval": ("inspect", 20, 0),
    "openai-evals/autogpt-test-match.jsonl": ("openai-evals", 3, 5),
    "openai-evals/run-fuzzy-match.jsonl": ("openai-evals", 3, 8),
    "openai-evals/test_fuzzy_match.samples.jsonl": ("openai-evals", 3, 0),
    "promptfoo-cli-offline/results.json": ("promptfoo-results", 6, 0),
    "promptfoo-cli-offline/results.jsonl": ("promptfoo-results", 6, 0),
    "promptfoo-results/simple-cli-output.json": ("promptfoo-results", 8, 0),
    "langfuse-trace-download/claude-agent-2025-12-22.trace.json": ("langfuse", 8, 0),
    "langfuse-trace-download/google-adk-2025-08-28.trace.json": ("langfuse", 6, 0),
    "langfuse-trace-download/langgraph-python-2025-08-22.trace.json": ("langfuse", 10, 0),
    "langfuse-trace-download/llamaindex-2025-06-05.trace.json": ("langfuse", 3, 0),
    "langfuse-trace-download/openai-agents-2025-09-30.trace.json": ("langfuse", 6, 0),
    "langfuse-trace-download/pydantic-ai-2025-06-06.trace.json": ("langfuse", 4, 0),
    "langfuse-trace-download/pydantic-ai-with-gemini-2025-12-24.trace.json": ("langfuse", 2, 0),
    "langfuse-trace-download/vercel-aisdk-2025-11-17.trace.json": ("langfuse", 4, 0),
    "langsmith-run-payloads/langsmith_py_traceable_support_agent.json": ("langsmith", 8, 0),
    "langsmith-run-payloads/langsmith_py_wrap_openai_.json": ("langsmith", 1, 0),
    "langsmith-run-payloads/langsmith_py_wrap_openai_reasoning.json": ("langsmith", 1, 0),
    "litellm-standard-logging-payload/standard_logging_payload.json": ("litellm", 1, 0),
    # the same spans in four shapes: the first file read gives the records, the rest are duplicates
    "openinference-phoenix/otel-python-to_json.jsonl": ("openinference", 7, 0),
    "openinference-phoenix/phoenix-rest-spans-otlpv1.json": ("openinference", 0, 0),
    "openinference-phoenix/phoenix-rest-spans.json": ("openinference", 0, 0),
    "openinference-phoenix/spans-dataframe.jsonl": ("openinference", 0, 0),
    "openinference-python-console/out-spans.json": ("openinference", 2, 0),
    "openinference-vercel-v6-spans/ai-generateObject-doGenerate.json": ("vercel-ai", 1, 0),
    "openinference-vercel-v6-spans/ai-generateText-doGenerate.json": ("vercel-ai", 2, 0),
    "openinference-vercel-v6-spans/ai-streamText-doStream.json": ("vercel-ai", 1, 0),
    "otlp-json-proto-examples/events.json": ("otlp-logs", 0, 1),
    "otlp-json-proto-examples/trace.json": ("otlp", 1, 0),  # a server span: a chain step
    "promptfoo-csv-tests/config-csv-metadata_tests.csv": ("promptfoo-csv", 3, 0),
    "promptfoo-csv-tests/re-eval-user-data_logs.csv": ("promptfoo-csv", 10, 0),
    "pydantic-ai-otlp/support-agent.otlp.json": ("otlp", 8, 0),
    # one run twice: OTLP/JSON first (5 model calls, 4 outer run spans as agent steps, 1 tool)
    "vercel-ai-sdk/otlp-export.json": ("otlp", 10, 0),
    "vercel-ai-sdk/readable-spans.jsonl": ("vercel-ai", 0, 0),
    "vertex-batch-prediction-output/predictions.jsonl": ("gemini", 2, 0),
}


def test_whole_real_logs_folder(engine):
    report = run_import(engine, REAL_LOGS)
    assert report.total("rejected") == 0, report.rejections
    got = {
        f.path.split("real_logs/", 1)[1]: (f.format, f.imported, f.skipped) for f in report.files
    }
    assert got == EXPECTED
    stored = records(engine)
    assert len(stored) == sum(n for _f, n, _s in EXPECTED.values())
    # every record that is a model call has its model; every one has input or output
    for r in (r for r in stored if r["kind"] == "llm"):
        assert r["messages"] or r["output"] or r["error"], r["id"]
        if r["source_format"] not in ("inspect-dataset", "promptfoo-csv") and not (
            r["source_format"] == "openai-evals" and "samples" in r["source_path"]
        ):
            assert r["model"], r["id"]
    # the same spans written in several shapes are one record each (the id is trace:span)
    by_file = {f.path.split("real_logs/", 1)[1]: f for f in report.files}
    for folder, first, copies, spans in (
        ("openinference-phoenix", "otel-python-to_json.jsonl", 3, 7),
        ("vercel-ai-sdk", "otlp-export.json", 1, 10),
    ):
        dupes = [f.duplicates for p, f in by_file.items() if p.startswith(folder + "/")]
        assert sorted(dupes) == [0] + [spans] * copies, folder
        assert by_file[f"{folder}/{first}"].duplicates == 0
    again = run_import(engine, REAL_LOGS)
    assert again.total("imported") == 0
    assert again.total("duplicates") == len(stored) + 7 * 3 + 10 * 1
