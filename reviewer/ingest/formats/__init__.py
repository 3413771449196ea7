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
    however it is split among parsing workers. For a JSON object, the formats whose
    `detect_keys` it has none of are skipped without asking them: which formats remain depends
    only on the object's keys, so it is worked out once per set of keys (lines of one file
    mostly share theirs)."""

    #: key sets remembered (objects with more keys are not remembered: worked out each time)
    CACHE_SIZE = 256
    CACHE_KEYS = 64

    def __init__(self, formats: list[LogFormat]) -> None:
        self.formats = formats
        self.by_kind: dict[str, list[LogFormat]] = {}
        for fmt in formats:
            self.by_kind.setdefault(fmt.kind, []).append(fmt)
        self._candidates: dict[tuple[str, tuple[str, ...]], list[LogFormat]] = {}

    def candidates(self, obj: Any, kind: str) -> list[LogFormat]:
        """The formats that may accept `obj`, in the registry's order."""
        formats = self.by_kind.get(kind, [])
        if type(obj) is not dict:
            return formats
        if len(obj) > self.CACHE_KEYS:
            return [
                f for f in formats if f.detect_keys is None or not f.detect_keys.isdisjoint(obj)
            ]
        shape = (kind, tuple(obj))
        found = self._candidates.get(shape)
        if found is None:
            found = [
                f for f in formats if f.detect_keys is None or not f.detect_keys.isdisjoint(obj)
            ]
            if len(self._candidates) >= self.CACHE_SIZE:
                self._candidates.clear()
            self._candidates[shape] = found
        return found

    def detect(self, obj: Any, kind: str) -> LogFormat | None:
        for fmt in self.candidates(obj, kind):
            if fmt.detect(obj):
                return fmt
        return None
