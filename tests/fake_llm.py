"""A fake OpenAI- and Anthropic-compatible HTTP server for tests and benchmarks.

It speaks HTTP/1.1 (keep-alive) on 127.0.0.1, on a random free port, from its own event loop
in a background thread, so the real SDKs talk to it over real sockets::

    with FakeLLM(latency=0.2) as server:
        client = AsyncOpenAI(base_url=server.openai_url, api_key="sk-test")

Endpoints: ``POST /v1/chat/completions`` (OpenAI Chat Completions) and ``POST /v1/messages``
(Anthropic Messages), with realistic bodies: ids, the model echoed, usage from a token
estimate, tool calls in each API's shape.

Scripted behaviours, consumed one per request in arrival order (``script``), then
``default``: ``Answer()`` (the ``responder``'s answer; ``Varying`` makes one whose answer to the same
request changes from one arrival to the next, for sampled strategies), ``Fail(status, retry_after=...)``
(429, 500, 503, ... with an error body and optional Retry-After), ``Hang()`` (never answers,
until the client gives up or the server stops). ``answer_first(k)`` answers the next k
requests and hangs every later one. The ``responder`` is a function of the request body
returning the answer: a text, or ``{"content": text, "tool_calls": [{"name", "arguments"}]}``.

Every request is logged (``requests``): path, headers, JSON body, model, when it arrived,
when it was answered and with which status.

OpenAI files and fine-tuning jobs (``finetune``, a ``FakeFineTuning``): ``POST /v1/files``
(multipart; the bytes are kept, ``finetune.lines(file_id)`` reads them back), ``GET
/v1/files/{id}``, ``POST /v1/fine_tuning/jobs``, ``GET /v1/fine_tuning/jobs[/{id}]``, ``POST
/v1/fine_tuning/jobs/{id}/cancel``. A job moves one step per retrieval through
validating_files -> queued -> running -> succeeded (then its ``fine_tuned_model`` is set), or
fails after validating_files when its file does not validate or ``finetune.failure`` was set.
``finetune.push(operation, behaviour)`` scripts one operation (upload, file, create, retrieve,
list, cancel): ``Fail``, ``Hang``, or ``Vanish`` (do it, then never answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Answer_ = str | dict[str, Any]
Responder = Callable[[dict[str, Any]], Answer_]


@dataclass
class Answer:
    """Answer normally (with the responder's output)."""


@dataclass
class Fail:
    """Answer with an error status; `retry_after` goes in the Retry-After header (seconds or
    an HTTP date, as text), `retry_after_ms` in retry-after-ms."""

    status: int = 500
    retry_after: str | None = None
    retry_after_ms: str | None = None
    message: str = "the fake server was told to fail"


@dataclass
class Hang:
    """Never answer (until the client disconnects or the server stops)."""

    seconds: float = 3600.0


@dataclass
class Vanish:
    """Do what the request asks, then never answer (the answer lost on the way)."""

    seconds: float = 3600.0


Behaviour = Answer | Fail | Hang


@dataclass
class LoggedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]
    received_at: float  # time.monotonic()
    answered_at: float | None = None
    status: int | None = None
    behaviour: str = ""

    @property
    def model(self) -> str | None:
        return self.body.get("model")


def estimate_tokens(value: Any) -> int:
    """About four characters a token, at least one."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return max(1, len(text) // 4)


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last user message of an OpenAI or Anthropic request."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(
                p.get("text", "")
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            )
    return ""


def default_responder(body: dict[str, Any]) -> Answer_:
    """Echo the last user message: `answer: <text>`."""
    return f"answer: {last_user_text(body)}"


class Varying:
    """A responder whose answer to the same request changes, as a sampled model's does: the
    i-th arrival of an identical body (0 first) is answered by `answer(body, i)`. Which of
    several identical requests in flight gets which i is the order they arrive in."""

    def __init__(self, answer: Callable[[dict[str, Any], int], Answer_]) -> None:
        self.answer = answer
        self.seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Answer_:
        key = json.dumps(body, sort_keys=True)
        with self._lock:
            index = self.seen.get(key, 0)
            self.seen[key] = index + 1
        return self.answer(body, index)


def structured_answer(body: dict[str, Any], answer: dict[str, Any]) -> Answer_:
    """`answer` the way a request for structured output expects it: the `review` tool's input
    for an Anthropic request that forces that tool, else JSON text (OpenAI's
    `response_format: json_schema`)."""
    choice = body.get("tool_choice") or {}
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return {"content": "", "tool_calls": [{"name": choice["name"], "arguments": answer}]}
    return json.dumps(answer)


@dataclass
class FakeLLM:
    """The server. Start with `start()` (or as a context manager), stop with `stop()`."""

    latency: float = 0.0
    responder: Responder = default_responder
    default: Behaviour = field(default_factory=Answer)
    script: deque[Behaviour] = field(default_factory=deque)
    requests: list[LoggedRequest] = field(default_factory=list)
    port: int = 0
    finetune: FakeFineTuning = field(default_factory=lambda: FakeFineTuning())

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._answer_budget: int | None = None

    # -- control -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        """The base_url for AsyncOpenAI (OPENAI_BASE_URL)."""
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        """The base_url for AsyncAnthropic (ANTHROPIC_BASE_URL)."""
        return self.url

    def push(self, *behaviours: Behaviour, times: int = 1) -> None:
        """Queue behaviours for the next requests (each repeated `times`)."""
        with self._lock:
            for b in behaviours:
                self.script.extend([b] * times)

    def fail_next(self, n: int, status: int = 500, **kwargs: Any) -> None:
        self.push(Fail(status, **kwargs), times=n)

    def hang_next(self, n: int, seconds: float = 3600.0) -> None:
        self.push(Hang(seconds), times=n)

    def answer_first(self, k: int | None) -> None:
        """Answer the next k requests normally and hang every later one (None: no limit)."""
        with self._lock:
            self._answer_budget = k

    def reset(self) -> None:
        """Forget the log and the script; answer normally again."""
        with self._lock:
            self.requests.clear()
            self.script.clear()
            self.default = Answer()
            self._answer_budget = None

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def log(self, path: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def start(self) -> FakeLLM:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_until_complete(self._serve())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-llm", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._stopping is None:
            return
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the server --------------------------------------------------------------------------

    async def _open(self) -> None:
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(
            self._connection, "127.0.0.1", self.port, backlog=512, limit=2**24
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self) -> None:
        assert self._server is not None and self._stopping is not None
        await self._stopping.wait()
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                keep_alive = await self._handle(request, reader, writer)
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read_request(
        self, reader: asyncio.StreamReader
    ) -> tuple[str, str, dict[str, str], bytes] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        body = await reader.readexactly(length) if length else b""
        return method, path, headers, body

    def _next_behaviour(self) -> Behaviour:
        with self._lock:
            if self.script:
                return self.script.popleft()
            if self._answer_budget is not None:
                if self._answer_budget <= 0:
                    return Hang()
                self._answer_budget -= 1
            return self.default

    async def _handle(
        self,
        request: tuple[str, str, dict[str, str], bytes],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        method, path, headers, raw = request
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        entry = LoggedRequest(method, path.split("?", 1)[0], headers, body, time.monotonic())
        with self._lock:
            self.requests.append(entry)
        route = entry.path.rstrip("/")
        if route.startswith(("/v1/files", "/v1/fine_tuning/")):
            return await self._fine_tuning(method, path, headers, raw, entry, reader, writer)
        if method != "POST" or route not in ("/v1/chat/completions", "/v1/messages"):
            entry.behaviour = "not-found"
            await self._send(writer, entry, 404, {"error": {"message": f"no route {path}"}})
            return True
        anthropic = route == "/v1/messages"
        behaviour = self._next_behaviour()
        entry.behaviour = type(behaviour).__name__.lower()
        if isinstance(behaviour, Hang):
            # wait for the client to give up (EOF on the socket) or for the deadline
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(), behaviour.seconds)
            return False
        if self.latency:
            await asyncio.sleep(self.latency)
        if isinstance(behaviour, Fail):
            extra: dict[str, str] = {}
            if behaviour.retry_after is not None:
                extra["retry-after"] = behaviour.retry_after
            if behaviour.retry_after_ms is not None:
                extra["retry-after-ms"] = behaviour.retry_after_ms
            kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(
                behaviour.status, "api_error"
            )
            err: dict[str, Any] = (
                {"type": "error", "error": {"type": kind, "message": behaviour.message}}
                if anthropic
                else {"error": {"message": behaviour.message, "type": kind, "code": None}}
            )
            await self._send(writer, entry, behaviour.status, err, extra)
            return True
        answer = self.responder(body)
        payload = self._anthropic(body, answer) if anthropic else self._openai(body, answer)
        await self._send(writer, entry, 200, payload)
        return True

    async def _fine_tuning(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        raw: bytes,
        entry: LoggedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """The files and fine-tuning endpoints (see `FakeFineTuning`)."""
        operation, status, payload = self.finetune.handle(method, path, headers, raw)
        behaviour = self.finetune.next_behaviour(operation) if status != 404 else Answer()
        entry.behaviour = f"{operation}:{type(behaviour).__name__.lower()}"
        if isinstance(behaviour, Hang | Fail):
            self.finetune.undo()
        if isinstance(behaviour, Hang | Vanish):
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(), behaviour.seconds)
            return False
        if isinstance(behaviour, Fail):
            err = {"error": {"message": behaviour.message, "type": "api_error", "code": None}}
            await self._send(writer, entry, behaviour.status, err)
            return True
        await self._send(writer, entry, status, payload)
        return True

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        entry: LoggedRequest,
        status: int,
        payload: dict[str, Any],
        extra: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests"}.get(status, "Status")
        head = [
            f"HTTP/1.1 {status} {reason}",
            "content-type: application/json",
            f"content-length: {len(data)}",
            f"x-request-id: req_{uuid.uuid4().hex[:16]}",
            "connection: keep-alive",
        ]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        # logged before the bytes leave: a client that has the answer sees it in the log
        entry.status = status
        entry.answered_at = time.monotonic()
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()

    # -- bodies ------------------------------------------------------------------------------

    @staticmethod
    def _parts(answer: Answer_) -> tuple[str, list[dict[str, Any]]]:
        if isinstance(answer, str):
            return answer, []
        calls = []
        for call in answer.get("tool_calls") or []:
            args = call.get("arguments", {})
            calls.append({"name": call["name"], "arguments": args})
        return answer.get("content") or "", calls

    def _openai(self, body: dict[str, Any], answer: Answer_) -> dict[str, Any]:
        text, calls = self._parts(answer)
        n = next(self._ids)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text or (None if calls else ""),
            "refusal": None,
        }
        if calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{n}_{i}",
                    "type": "function",
                    "function": {
                        "name": c["name"],
                        "arguments": c["arguments"]
                        if isinstance(c["arguments"], str)
                        else json.dumps(c["arguments"]),
                    },
                }
                for i, c in enumerate(calls)
            ]
        prompt_tokens = estimate_tokens(body.get("messages") or "")
        completion_tokens = estimate_tokens(text or json.dumps(calls))
        return {
            "id": f"chatcmpl-fake{n:08d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or "unknown",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": "fp_fake",
        }

    def _anthropic(self, body: dict[str, Any], answer: Answer_) -> dict[str, Any]:
        text, calls = self._parts(answer)
        n = next(self._ids)
        content: list[dict[str, Any]] = []
        if text:
            content.append({"type": "text", "text": text})
        for i, c in enumerate(calls):
            args = c["arguments"]
            content.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{n}_{i}",
                    "name": c["name"],
                    "input": json.loads(args) if isinstance(args, str) else args,
                }
            )
        input_tokens = estimate_tokens([body.get("system") or "", body.get("messages") or ""])
        return {
            "id": f"msg_fake{n:08d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model") or "unknown",
            "content": content,
            "stop_reason": "tool_use" if calls else "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": estimate_tokens(text or json.dumps(calls)),
            },
        }


# -- generated test cases ---------------------------------------------------------------------------


def _request_text(body: dict[str, Any]) -> str:
    """Every text of a request (system and messages), as one string."""
    parts = [body.get("system") if isinstance(body.get("system"), str) else ""]
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
    return "\n".join(parts)


def generated_cases(body: dict[str, Any]) -> Answer_:
    """Deterministic generated variants for `reviewer datasets generate`: the request's
    "Cases to write: paraphrase 2, edge 1 (3 in all)." line says how many of each kind; case j
    of a kind is `<kind> <j>: <the case's input> [<words of its own>]` (j counting on after the
    "Already written" ones), its expected answer `<kind> <j>: <the case's expected answer>` (null when it has
    none). Anthropic requests (a `cases` tool) get the answer as the tool's input."""
    import re

    text = _request_text(body)
    counts_line = re.search(r"Cases to write: (.*?) \(\d+ in all\)", text)
    counts = (
        [(kind, int(n)) for kind, n in re.findall(r"([a-z]+) (\d+)", counts_line.group(1))]
        if counts_line
        else []
    )
    source = text.split("Input (the last user message):\n", 1)[-1].split("\n\nExpected answer:")[0]
    expected = text.split("Expected answer:\n", 1)[-1].split("\n\n")[0].strip()
    marker = "Already written for this case (do not repeat them):"
    earlier = text.split(marker, 1)[1].count("\n- ") if marker in text else 0
    cases = []
    for kind, n in counts:
        for j in range(n):
            number = earlier + j + 1
            # words of its own, so no two variants (nor a variant and its case) are
            # near-duplicates by the word-overlap rule
            tag = " ".join(f"{kind}{number}x{i}" for i in range(2 + len(source.split()) // 2))
            cases.append(
                {
                    "kind": kind,
                    "input": f"{kind} {number}: {source} [{tag}]",
                    "expected": None
                    if expected == "(none given)"
                    else f"{kind} {number}: {expected}",
                }
            )
    answer = json.dumps({"cases": cases})
    if any(t.get("name") == "cases" for t in body.get("tools") or []):
        return {"content": "", "tool_calls": [{"name": "cases", "arguments": answer}]}
    return answer


# -- files and fine-tuning jobs ---------------------------------------------------------------------


def _multipart(headers: dict[str, str], raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (filename, bytes)."""
    kind = headers.get("content-type", "")
    boundary = kind.split("boundary=", 1)[1].strip().strip('"') if "boundary=" in kind else ""
    fields: dict[str, tuple[str | None, bytes]] = {}
    if not boundary:
        return fields
    for part in raw.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _sep, data = part.partition(b"\r\n\r\n")
        disposition = next(
            (
                line
                for line in head.decode("utf-8", "replace").split("\r\n")
                if line.lower().startswith("content-disposition")
            ),
            "",
        )
        name = filename = None
        for item in disposition.split(";"):
            key, _eq, value = item.strip().partition("=")
            if key == "name":
                name = value.strip('"')
            elif key == "filename":
                filename = value.strip('"')
        if name is not None:
            fields[name] = (filename, data[:-2] if data.endswith(b"\r\n") else data)
    return fields


def _validate(method: str, data: bytes) -> str | None:
    """Why OpenAI would refuse this training file for `method` (None: it is fine)."""
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) < 10:
        return f"Training file has {len(lines)} example(s), but must have at least 10 examples"
    for n, line in enumerate(lines, 1):
        try:
            example = json.loads(line)
        except ValueError:
            return f"Invalid file format. Line {n} is not valid JSON."
        if method == "dpo":
            ok = (
                isinstance(example.get("input"), dict)
                and isinstance(example["input"].get("messages"), list)
                and isinstance(example.get("preferred_output"), list)
                and isinstance(example.get("non_preferred_output"), list)
            )
        else:
            messages = example.get("messages")
            ok = (
                isinstance(messages, list)
                and bool(messages)
                and messages[-1].get("role") == "assistant"
            )
        if not ok:
            return f"Invalid file format. Example {n} is not a {method} example."
    return None


@dataclass
class FakeFineTuning:
    """OpenAI's files and fine-tuning jobs, in memory: jobs move one step per retrieval."""

    steps: tuple[str, ...] = ("validating_files", "queued", "running", "succeeded")
    organization: str = "fake-org"
    #: (code, message): jobs created while it is set fail after validating_files
    failure: tuple[str, str] | None = None
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)  # every job creation's body
    script: dict[str, deque[Behaviour | Vanish]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._plans: dict[str, tuple[list[str], tuple[str, str] | None]] = {}
        self._undo: Callable[[], None] | None = None

    # -- for tests ---------------------------------------------------------------------------

    def push(self, operation: str, *behaviours: Behaviour | Vanish) -> None:
        """Script the next requests of one operation: upload, file, create, retrieve, list,
        cancel."""
        with self._lock:
            self.script.setdefault(operation, deque()).extend(behaviours)

    def lines(self, file_id: str) -> list[dict[str, Any]]:
        """The uploaded file's JSON lines."""
        return [json.loads(line) for line in self.contents[file_id].splitlines() if line.strip()]

    @property
    def uploads(self) -> int:
        return len(self.files)

    def next_behaviour(self, operation: str) -> Behaviour | Vanish:
        with self._lock:
            queue = self.script.get(operation)
            return queue.popleft() if queue else Answer()

    def undo(self) -> None:
        """Take back what the last request did (it is answered with a failure instead)."""
        with self._lock:
            if self._undo is not None:
                self._undo()
            self._undo = None

    # -- the API -----------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[str, int, dict[str, Any]]:
        """(operation, status, body) of one request."""
        route, _q, query = path.partition("?")
        parts = route.rstrip("/").split("/")[2:]  # after /v1
        with self._lock:
            self._undo = None
            if parts == ["files"] and method == "POST":
                return "upload", 200, self._upload(headers, raw)
            if len(parts) == 2 and parts[0] == "files" and method == "GET":
                found = self.files.get(parts[1])
                return ("file", 200, found) if found else self._missing("file", parts[1])
            if parts == ["fine_tuning", "jobs"] and method == "POST":
                return "create", *self._create(json.loads(raw or b"{}"))
            if parts == ["fine_tuning", "jobs"] and method == "GET":
                limit = 20
                for pair in query.split("&"):
                    key, _eq, value = pair.partition("=")
                    if key == "limit" and value.isdigit():
                        limit = int(value)
                data = [self._public(j) for j in reversed(self.jobs.values())][:limit]
                return "list", 200, {"object": "list", "data": data, "has_more": False}
            if len(parts) == 3 and parts[:2] == ["fine_tuning", "jobs"] and method == "GET":
                job = self.jobs.get(parts[2])
                if job is None:
                    return self._missing("retrieve", parts[2])
                self._advance(job)
                return "retrieve", 200, self._public(job)
            if len(parts) == 4 and parts[3] == "cancel" and method == "POST":
                job = self.jobs.get(parts[2])
                if job is None:
                    return self._missing("cancel", parts[2])
                if job["status"] not in ("succeeded", "failed", "cancelled"):
                    job["status"] = "cancelled"
                    job["finished_at"] = int(time.time())
                return "cancel", 200, self._public(job)
        return (
            "unknown",
            404,
            {"error": {"message": f"no route {path}", "type": "invalid_request_error"}},
        )

    @staticmethod
    def _missing(operation: str, name: str) -> tuple[str, int, dict[str, Any]]:
        message = f"No such object: {name}"
        return operation, 404, {"error": {"message": message, "type": "invalid_request_error"}}

    def _upload(self, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        fields = _multipart(headers, raw)
        filename, data = fields.get("file", ("upload.jsonl", b""))
        purpose = fields.get("purpose", (None, b""))[1].decode()
        file_id = f"file-fake{next(self._ids):06d}"
        self.contents[file_id] = data
        self.files[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename or "upload.jsonl",
            "purpose": purpose,
            "status": "processed",
        }

        def undo() -> None:
            self.files.pop(file_id, None)
            self.contents.pop(file_id, None)

        self._undo = undo
        return self.files[file_id]

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        training = body.get("training_file")
        if training not in self.files:
            return self._missing("create", str(training))[1:]
        kind = (body.get("method") or {}).get("type") or "supervised"
        job_id = f"ftjob-fake{next(self._ids):06d}"
        problem = _validate(kind, self.contents[training])
        failure = ("invalid_training_file", problem) if problem else self.failure
        plan = list(self.steps) if failure is None else [self.steps[0], "failed"]
        job: dict[str, Any] = {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": int(time.time()),
            "error": None,
            "fine_tuned_model": None,
            "finished_at": None,
            "hyperparameters": {
                "batch_size": "auto",
                "learning_rate_multiplier": "auto",
                "n_epochs": "auto",
            },
            "model": body.get("model"),
            "organization_id": self.organization,
            "result_files": [],
            "seed": 42,
            "status": plan[0],
            "trained_tokens": None,
            "training_file": training,
            "validation_file": body.get("validation_file"),
            "method": {"type": kind},
            "metadata": body.get("metadata"),
            "suffix": body.get("suffix"),
        }
        self.jobs[job_id] = job
        self.created.append(body)
        self._plans[job_id] = (plan, failure)

        def undo() -> None:
            self.jobs.pop(job_id, None)
            self.created.pop()

        self._undo = undo
        return 200, self._public(job)

    def _advance(self, job: dict[str, Any]) -> None:
        plan, failure = self._plans[job["id"]]
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return
        job["status"] = plan[plan.index(job["status"]) + 1]
        if job["status"] == "failed" and failure is not None:
            job["error"] = {"code": failure[0], "message": failure[1], "param": "training_file"}
            job["finished_at"] = int(time.time())
        elif job["status"] == "succeeded":
            data = self.contents[job["training_file"]]
            job["trained_tokens"] = 3 * estimate_tokens(data.decode("utf-8", "replace"))
            short = job["id"][-6:]
            job["fine_tuned_model"] = (
                f"ft:{job['model']}:{self.organization}:{job['suffix'] or ''}:{short}"
            )
            job["finished_at"] = int(time.time())

    @staticmethod
    def _public(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if k != "suffix"}


# -- the prompt optimizer -----------------------------------------------------------------------------

#: The structured answer's name an optimizer request asks for (reviewer.evals.optimize.TOOL).
PROPOSAL = "prompt_proposal"
#: The sentence the fake optimizer adds by default, and the one that fixes a `SentenceWorld`.
FIX_SENTENCE = "Always quote the 30-day return policy."


def is_proposal_request(body: dict[str, Any]) -> bool:
    """A request for a prompt proposal: the `prompt_proposal` schema (OpenAI) or tool
    (Anthropic)."""
    choice = body.get("tool_choice") or {}
    if isinstance(choice, dict) and choice.get("name") == PROPOSAL:
        return True
    schema = (body.get("response_format") or {}).get("json_schema") or {}
    return schema.get("name") == PROPOSAL


def system_text(body: dict[str, Any]) -> str:
    """The system prompt of an OpenAI or Anthropic request."""
    system = body.get("system")
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(p.get("text", "") for p in system if isinstance(p, dict))
    return "\n".join(
        m["content"] if isinstance(m.get("content"), str) else ""
        for m in body.get("messages") or []
        if m.get("role") == "system"
    )


def with_sentence(prompt: str, sentence: str) -> str:
    """The prompt file's text with `sentence` added to its system prompt (once): at the end of a
    `system:` line, or as the first line of a `system: |` block."""
    if sentence in prompt:
        return prompt
    lines = prompt.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("system:"):
            continue
        if line.rstrip()[-1:] in ("|", ">", "-", "+") and i + 1 < len(lines):
            following = lines[i + 1]
            indent = following[: len(following) - len(following.lstrip())] or "  "
            lines[i + 1 : i + 1] = [indent + sentence, ""]
        else:
            lines[i] = f"{line.rstrip()} {sentence}"
        return "\n".join(lines)
    return prompt.rstrip("\n") + f"\nsystem: {sentence}\n"


def proposing(answer: Responder, sentence: str | dict[str, str] = FIX_SENTENCE) -> Responder:
    """A responder playing the optimizer: a proposal request gets the prompt it was sent (between
    `<prompt>` and `</prompt>`) with `sentence` added to its system prompt, as structured output;
    every other request is answered by `answer`. With a theme -> sentence mapping, the sentences
    of the themes of the cases sent (their `Themes:` lines) are added, in the mapping's order."""

    def respond(body: dict[str, Any]) -> Answer_:
        if not is_proposal_request(body):
            return answer(body)
        text = _request_text(body)
        prompt = text.split("<prompt>\n", 1)[-1].split("\n</prompt>", 1)[0]
        if isinstance(sentence, str):
            chosen = [sentence]
        else:
            named = {
                theme.strip()
                for line in text.split("\n")
                if line.startswith("Themes: ")
                for theme in line[len("Themes: ") :].split(",")
            }
            chosen = [s for theme, s in sentence.items() if theme in named]
        for one in reversed(chosen):
            prompt = with_sentence(prompt, one)
        rationale = " ".join(f"Added: {one}" for one in chosen) or "Nothing to add."
        return structured_answer(body, {"prompt": prompt, "rationale": rationale})

    return respond


@dataclass
class SentenceWorld:
    """An application whose answers depend on a sentence of its system prompt. A question in
    `wrong` gets the invented "90 days" policy unless the system prompt holds `fix`; a question in
    `breaks` gets it only when the system prompt holds `fix` (an edit that fixes some cases and
    breaks others). Every other question gets "Returns within 30 days."."""

    wrong: set[str]
    breaks: set[str] = field(default_factory=set)
    fix: str = FIX_SENTENCE

    def __call__(self, body: dict[str, Any]) -> Answer_:
        question = last_user_text(body)
        fixed = self.fix in system_text(body)
        bad = (question in self.wrong and not fixed) or (question in self.breaks and fixed)
        return "Returns within 90 days, no questions." if bad else "Returns within 30 days."
