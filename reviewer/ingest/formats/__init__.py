"""The registry of log formats, in detection order (most specific first)."""

from __future__ import annotations

from typing import Any

from reviewer.ingest.base import LogFormat


def all_formats() -> list[LogFormat]:
    """Every known format, most specific first: the first whose `detect` accepts an object wins."""
    from reviewer.ingest.formats import (
        anthropic,
        bedrock,
        gemini,
        helicone,
        inspect_ai,
        langfuse,
        langsmith,
        litellm,
        openai_batch,
        openai_chat,
        openai_evals,
        openai_responses,
        otlp,
        promptfoo,
        spans,
    )

    return [
        otlp.OtlpTraces(),
        otlp.OtlpLogs(),
        spans.VercelAISpans(),
        spans.OpenInferenceSpans(),
        inspect_ai.InspectEvalLog(),
        openai_evals.OpenAIEvals(),
        promptfoo.PromptfooResults(),
        langfuse.LangfuseTrace(),
        langfuse.LangfuseObservation(),
        langsmith.LangSmithRuns(),
        litellm.LiteLLMPayload(),
        helicone.HeliconeRow(),
        helicone.HeliconeCsv(),
        bedrock.Bedrock(),
        gemini.GeminiGenerateContent(),
        openai_batch.OpenAIBatch(),
        anthropic.AnthropicBatch(),
        openai_responses.OpenAIResponses(),
        anthropic.AnthropicMessages(),
        openai_chat.OpenAIChat(),
        inspect_ai.InspectSample(),
        promptfoo.PromptfooCsv(),
    ]


def format_names() -> list[str]:
    return [f.name for f in all_formats()] + ["mapping"]


def by_name(name: str) -> LogFormat | None:
    for fmt in all_formats():
        if fmt.name == name:
            return fmt
    return None


class Detector:
    """Picks the format of each item: the first, in the registry's order, that accepts it.

    Only the item decides (never the lines before it), so the same file gives the same records
    however it is split among parsing workers."""

    def __init__(self, formats: list[LogFormat]) -> None:
        self.formats = formats
        self.by_kind: dict[str, list[LogFormat]] = {}
        for fmt in formats:
            self.by_kind.setdefault(fmt.kind, []).append(fmt)

    def detect(self, obj: Any, kind: str) -> LogFormat | None:
        for fmt in self.by_kind.get(kind, ()):
            if fmt.detect(obj):
                return fmt
        return None
