"""Model providers: openai, anthropic (through their official async SDKs), echo and replay.

`get_provider(name, base_url=None)` returns an object with
`async complete(messages, model, params, timeout) -> Completion`: canonical messages in, the
canonical assistant message out, with token usage and latency.

- The SDKs are imported lazily and follow their environment conventions (OPENAI_API_KEY,
  OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL), so any OpenAI-compatible server
  (vLLM, Ollama, llama.cpp) works. A missing key is a `ProviderError` with a clear message
  when the provider is made; with a base_url (a local server) no key is needed.
- The SDKs' own retries are off; `RetryPolicy` retries here: exponential backoff with jitter,
  honouring Retry-After (seconds or an HTTP date) and retry-after-ms on 429 and 5xx, also
  after connection errors and timeouts. Each attempt has its own deadline (`timeout`).
- Cancelling the awaiting task cancels the HTTP request (asyncio cancellation propagates).
- Keys are never part of anything returned, logged or stored.
- `replay` answers from recorded answers (a JSONL file per model, `ReplayProvider`): offline
  demos and CI without keys.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from reviewer.messages import Message, make, to_anthropic, to_openai, to_openai_tools, tool_call

PROVIDERS = ("openai", "anthropic", "echo", "replay")
DEFAULT_TIMEOUT = 60.0
ANTHROPIC_DEFAULT_MAX_TOKENS = 1024


class ProviderError(Exception):
    """A provider that cannot be used, or a call that failed after its retries."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


@dataclass(slots=True)
class Completion:
    """One model answer."""

    output: Message  # the canonical assistant message
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: float  # of the attempt that answered
    raw_id: str | None = None
    finish_reason: str | None = None
    attempts: int = 1


@dataclass
class RetryPolicy:
    """How calls are retried. `sleep` and `random` can be replaced (tests use a fake clock)."""

    max_attempts: int = 4
    base_delay: float = 0.5  # the first backoff; doubles each attempt
    max_delay: float = 30.0  # cap of the exponential backoff
    max_retry_after: float = 120.0  # a server asking for longer is waited for this long
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    random: Callable[[], float] = random.random

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (1-based): equal jitter in [cap/2, cap]."""
        cap = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return cap / 2 + self.random() * cap / 2


def parse_retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, else `retry-after` (seconds or an HTTP date)."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC).timestamp()
    return max(0.0, when.timestamp() - current)


@dataclass(slots=True)
class _Failure:
    retryable: bool
    message: str
    status: int | None = None
    retry_after: float | None = None


class Provider:
    """The retry loop around one provider's single call (`_call`)."""

    name = "provider"
    uses_sdk = True  # echo does not

    def __init__(self, base_url: str | None = None, retry: RetryPolicy | None = None) -> None:
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self._client: Any = None
        self._accepts: frozenset[str] = frozenset()
        self._making: asyncio.Lock | None = None

    async def prepare(self) -> None:
        """Make the SDK client once, in a thread: importing an SDK takes a second or more, and
        the event loop must not wait for it (nor the first call's latency include it)."""
        if self._client is not None or not self.uses_sdk:
            return
        if self._making is None:
            self._making = asyncio.Lock()
        async with self._making:
            if self._client is None:
                self._client, create = await asyncio.to_thread(self._make_client)
                self._accepts = _parameters(create)

    def _make_client(self) -> tuple[Any, Any]:
        """The SDK client and its create method (whose parameters say what it accepts)."""
        raise NotImplementedError

    async def complete(
        self,
        messages: list[Message],
        model: str,
        params: dict[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        sample: int = 0,
    ) -> Completion:
        """The model's answer to `messages`; ProviderError once the retries are spent.
        `sample` says which answer to a repeated request this is (0 for the first): only a
        provider replaying recorded answers reads it."""
        params = dict(params or {})
        await self.prepare()
        attempts = self.retry.max_attempts
        failure: _Failure | None = None
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    done = await self._call(messages, model, params, timeout)
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                failure = _Failure(True, f"timed out after {timeout:g} s")
            except ProviderError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                failure = self._classify(exc)
                if failure.message == "timed out":
                    failure.message = f"timed out after {timeout:g} s"
            else:
                done.latency_ms = (time.perf_counter() - started) * 1000
                done.attempts = attempt
                return done
            if not failure.retryable or attempt == attempts:
                break
            wait = self.retry.backoff(attempt)
            if failure.retry_after is not None:
                wait = min(failure.retry_after, self.retry.max_retry_after)
            await self.retry.sleep(wait)
        assert failure is not None
        tries = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
        raise ProviderError(
            f"{self.name} {model}: {failure.message} ({tries})",
            status=failure.status,
            attempts=attempt,
        )

    async def _call(
        self, messages: list[Message], model: str, params: dict[str, Any], timeout: float
    ) -> Completion:
        raise NotImplementedError

    def _classify(self, exc: Exception) -> _Failure:
        """Whether an SDK error is worth retrying, and what to say about it."""
        status = getattr(exc, "status_code", None)
        response = getattr(exc, "response", None)
        if isinstance(status, int):
            retry_after = parse_retry_after(getattr(response, "headers", None))
            message = _error_message(exc)
            retryable = status in (408, 409, 429) or status >= 500
            return _Failure(retryable, f"HTTP {status}: {message}", status, retry_after)
        kind = type(exc).__name__
        if "Timeout" in kind:
            return _Failure(True, "timed out")
        if "Connection" in kind:
            cause = exc.__cause__ or exc.__context__
            detail = f" ({cause})" if cause else ""
            return _Failure(True, f"cannot connect to {self._where()}{detail}")
        return _Failure(False, f"{kind}: {exc}")

    def _where(self) -> str:
        """The server, without any user:password part of its URL (messages are stored)."""
        if not self.base_url:
            return f"the {self.name} API"
        parts = urlsplit(self.base_url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    async def aclose(self) -> None:
        """Close the HTTP client (its connections)."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


def _parameters(function: Any) -> frozenset[str]:
    """The keyword parameters a function accepts (none known: empty)."""
    if function is None:
        return frozenset()
    try:
        return frozenset(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return frozenset()


def _error_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"]
    return str(getattr(exc, "message", None) or exc)


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


# -- OpenAI ---------------------------------------------------------------------------------------

_ANTHROPIC_ONLY = {"top_k", "stop_sequences", "thinking", "system"}


def _openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A prompt file's tools as OpenAI's (any logged shape: see `messages.to_openai_tools`);
    those in OpenAI's shape already are sent exactly as written."""
    out: list[dict[str, Any]] = []
    for t in tools:
        if isinstance(t, dict) and t.get("type") == "function" and "function" in t:
            out.append(t)
        else:
            out.extend(to_openai_tools(t))
    return out


def _openai_tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") in ("auto", "any", "none", "tool"):
        kind = choice["type"]
        if kind == "tool":
            return {"type": "function", "function": {"name": choice.get("name")}}
        return {"auto": "auto", "any": "required", "none": "none"}[kind]
    return choice


class OpenAIProvider(Provider):
    """Chat Completions through `openai.AsyncOpenAI`."""

    name = "openai"

    def __init__(self, base_url: str | None = None, retry: RetryPolicy | None = None) -> None:
        super().__init__(base_url or _env("OPENAI_BASE_URL"), retry)
        key = _env("OPENAI_API_KEY")
        if key is None and self.base_url is None:
            raise ProviderError(
                "OPENAI_API_KEY is not set: export it, or set base_url for a local server"
            )
        self._key = key or "unused"  # local OpenAI-compatible servers take any key

    def _make_client(self) -> tuple[Any, Any]:
        try:
            from openai import AsyncOpenAI
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ProviderError("the openai package is not installed: pip install openai") from exc
        client = AsyncOpenAI(api_key=self._key, base_url=self.base_url, max_retries=0)
        return client, client.chat.completions.create

    async def _call(
        self, messages: list[Message], model: str, params: dict[str, Any], timeout: float
    ) -> Completion:
        kwargs = {k: v for k, v in params.items() if k not in _ANTHROPIC_ONLY}
        if "stop_sequences" in params and "stop" not in kwargs:
            kwargs["stop"] = params["stop_sequences"]
        if kwargs.get("tools"):
            kwargs["tools"] = _openai_tools(kwargs["tools"])
        if "tool_choice" in kwargs:
            kwargs["tool_choice"] = _openai_tool_choice(kwargs["tool_choice"])
        # what the SDK does not know goes in the body as it is (vLLM's top_k, ...)
        extra = {k: kwargs.pop(k) for k in list(kwargs) if self._accepts and k not in self._accepts}
        if extra:
            kwargs["extra_body"] = {**extra, **(kwargs.get("extra_body") or {})}
        response = await self._client.chat.completions.create(
            model=model, messages=to_openai(messages), timeout=timeout, **kwargs
        )
        choice = response.choices[0] if response.choices else None
        msg = choice.message if choice is not None else None
        calls = [
            tool_call(c.id, c.function.name, c.function.arguments)
            for c in (getattr(msg, "tool_calls", None) or [])
            if getattr(c, "function", None) is not None
        ]
        text = (msg.content or getattr(msg, "refusal", None) or "") if msg is not None else ""
        usage = response.usage
        return Completion(
            output=make("assistant", text, tool_calls=calls or None),
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
            latency_ms=0.0,
            raw_id=response.id,
            finish_reason=choice.finish_reason if choice is not None else None,
        )


# -- Anthropic ------------------------------------------------------------------------------------

_ANTHROPIC_KEYS = {
    "max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "tools", "tool_choice",
    "metadata", "thinking", "service_tier",
}  # fmt: skip


_NOT_PARAMS = frozenset(
    {"self", "model", "messages", "stream", "timeout", "extra_headers", "extra_query", "extra_body"}
)


def _anthropic_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A prompt file's tools as Anthropic's; those in Anthropic's shape already (and its
    built-in tools) are sent exactly as written."""
    out: list[dict[str, Any]] = []
    for t in tools:
        if isinstance(t, dict) and "input_schema" in t and "function" not in t:
            out.append(t)
            continue
        for tool in to_openai_tools(t):
            fn = tool.get("function") if tool.get("type") == "function" else None
            if not isinstance(fn, dict):
                out.append(tool)
                continue
            converted = {
                "name": fn["name"],
                "input_schema": fn.get("parameters") or {"type": "object"},
            }
            if fn.get("description"):
                converted["description"] = fn["description"]
            out.append(converted)
    return out


def _anthropic_tool_choice(choice: Any) -> Any:
    if isinstance(choice, str):
        return {"type": {"required": "any"}.get(choice, choice)}
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    return choice


class AnthropicProvider(Provider):
    """Messages through `anthropic.AsyncAnthropic`."""

    name = "anthropic"

    def __init__(self, base_url: str | None = None, retry: RetryPolicy | None = None) -> None:
        super().__init__(base_url or _env("ANTHROPIC_BASE_URL"), retry)
        self._key = _env("ANTHROPIC_API_KEY")
        self._token = _env("ANTHROPIC_AUTH_TOKEN")
        if self._key is None and self._token is None:
            if self.base_url is None:
                raise ProviderError(
                    "ANTHROPIC_API_KEY is not set: export it, or set base_url for a local server"
                )
            self._key = "unused"

    def _make_client(self) -> tuple[Any, Any]:
        try:
            from anthropic import AsyncAnthropic
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ProviderError(
                "the anthropic package is not installed: pip install anthropic"
            ) from exc
        client = AsyncAnthropic(
            api_key=self._key, auth_token=self._token, base_url=self.base_url, max_retries=0
        )
        return client, client.messages.create

    async def _call(
        self, messages: list[Message], model: str, params: dict[str, Any], timeout: float
    ) -> Completion:
        system, converted = to_anthropic(messages)
        # the Messages parameters this SDK takes (sampling ones are gone from newer SDKs)
        known = (self._accepts - _NOT_PARAMS) or _ANTHROPIC_KEYS
        kwargs = {k: v for k, v in params.items() if k in known}
        if "max_tokens" not in kwargs:
            kwargs["max_tokens"] = (
                params.get("max_completion_tokens") or ANTHROPIC_DEFAULT_MAX_TOKENS
            )
        if "stop" in params and "stop_sequences" not in kwargs:
            stop = params["stop"]
            kwargs["stop_sequences"] = [stop] if isinstance(stop, str) else stop
        if kwargs.get("tools"):
            kwargs["tools"] = _anthropic_tools(kwargs["tools"])
        if "tool_choice" in kwargs:
            kwargs["tool_choice"] = _anthropic_tool_choice(kwargs["tool_choice"])
        extra_system = params.get("system")
        if isinstance(extra_system, str) and extra_system:
            system = extra_system if not system else f"{extra_system}\n\n{system}"
        if system:
            kwargs["system"] = system
        response = await self._client.messages.create(
            model=model, messages=converted, timeout=timeout, **kwargs
        )
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        parts: list[dict[str, Any]] = []
        for block in response.content or []:
            kind = getattr(block, "type", None)
            if kind == "text":
                texts.append(block.text)
            elif kind == "tool_use":
                calls.append(tool_call(block.id, block.name, block.input))
            elif kind == "thinking":
                parts.append({"type": "thinking", "text": getattr(block, "thinking", "")})
        usage = response.usage
        return Completion(
            output=make(
                "assistant", "\n".join(texts), tool_calls=calls or None, parts=parts or None
            ),
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            latency_ms=0.0,
            raw_id=response.id,
            finish_reason=response.stop_reason,
        )


# -- echo -----------------------------------------------------------------------------------------


def echo_text(messages: list[Message]) -> str:
    """The rendered input as text, one `role: content` block per message."""
    lines: list[str] = []
    for m in messages:
        text = m.get("content") or ""
        for c in m.get("tool_calls") or ():
            text += f"{chr(10) if text else ''}-> {c.get('name')}({c.get('arguments') or ''})"
        lines.append(f"{m.get('role', 'user')}: {text}")
    return "\n\n".join(lines)


class EchoProvider(Provider):
    """Returns the rendered input as the answer: a dry run, no network."""

    name = "echo"
    uses_sdk = False

    async def _call(
        self, messages: list[Message], model: str, params: dict[str, Any], timeout: float
    ) -> Completion:
        text = echo_text(messages)
        source = orjson.dumps(messages)
        return Completion(
            output=make("assistant", text),
            input_tokens=max(1, len(source) // 4),
            output_tokens=max(1, len(text) // 4),
            latency_ms=0.0,
            raw_id=None,
            finish_reason="stop",
        )


def replay_key(messages: list[Message]) -> str:
    """What a recorded answer is found by: the rendered messages, exactly."""
    import hashlib

    data = orjson.dumps(messages, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class ReplayProvider(Provider):
    """Answers from recorded answers, no network: `base_url` is a folder holding one
    `MODEL.jsonl` per model, or one `.jsonl` file. Each line is a recorded answer:

        {"messages": [...], "sample": 0, "output": "text or an assistant message",
         "latency_ms": 812, "input_tokens": 90, "output_tokens": 14}

    found by the request's rendered messages (exactly) and the sample index (0 when left
    out); a line of a shared file may name its `model`. An input with no recorded answer is a
    ProviderError saying so."""

    name = "replay"
    uses_sdk = False

    def __init__(self, base_url: str | None = None, retry: RetryPolicy | None = None) -> None:
        super().__init__(base_url, retry)
        if not base_url:
            raise ProviderError(
                "the replay provider answers from recorded answers: set base_url to their "
                "folder (MODEL.jsonl in it) or file"
            )
        self._tables: dict[str, dict[tuple[str | None, str, int], dict[str, Any]]] = {}

    def _path(self, model: str) -> str:
        from pathlib import Path

        root = Path(self.base_url or "")
        return str(root if root.suffix == ".jsonl" else root / f"{model}.jsonl")

    @staticmethod
    def _read(path: str) -> dict[tuple[str | None, str, int], dict[str, Any]]:
        table: dict[tuple[str | None, str, int], dict[str, Any]] = {}
        try:
            with open(path, "rb") as handle:
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        entry = orjson.loads(line)
                        messages = entry["messages"]
                        sample = int(entry.get("sample") or 0)
                        if not isinstance(messages, list) or "output" not in entry:
                            raise ValueError("needs messages (a list) and output")
                    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                        raise ProviderError(
                            f"{path}: line {number}: not a recorded answer ({exc})"
                        ) from None
                    model = entry.get("model")
                    table[
                        (model if isinstance(model, str) else None, replay_key(messages), sample)
                    ] = entry
        except OSError as exc:
            raise ProviderError(
                f"replay: cannot read the recorded answers {path}: {exc.strerror or exc}"
            ) from None
        return table

    async def complete(
        self,
        messages: list[Message],
        model: str,
        params: dict[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        sample: int = 0,
    ) -> Completion:
        path = self._path(model)
        table = self._tables.get(path)
        if table is None:
            table = self._tables[path] = await asyncio.to_thread(self._read, path)
        key = replay_key(messages)
        entry = table.get((model, key, sample)) or table.get((None, key, sample))
        if entry is None:
            raise ProviderError(
                f'replay {model}: no recorded answer for this input ("sample": {sample}) in {path}'
            )
        output = entry["output"]
        message = make("assistant", output) if isinstance(output, str) else dict(output)
        return Completion(
            output=message,
            input_tokens=entry.get("input_tokens"),
            output_tokens=entry.get("output_tokens"),
            latency_ms=float(entry.get("latency_ms") or 0.0),
            raw_id=entry.get("id"),
            finish_reason="stop",
        )

    async def _call(
        self, messages: list[Message], model: str, params: dict[str, Any], timeout: float
    ) -> Completion:  # pragma: no cover - complete() answers
        raise NotImplementedError


_MAKERS: dict[str, Callable[..., Provider]] = {
    "openai": OpenAIProvider,
    "anthropic": AnthropicProvider,
    "echo": EchoProvider,
    "replay": ReplayProvider,
}


def get_provider(
    name: str, base_url: str | None = None, *, retry: RetryPolicy | None = None
) -> Provider:
    """The provider called `name` (openai, anthropic, echo, replay); ProviderError for an
    unknown name or a missing API key."""
    maker = _MAKERS.get(name)
    if maker is None:
        raise ProviderError(f"unknown provider {name!r} (providers: {', '.join(PROVIDERS)})")
    return maker(base_url, retry)
