"""Prompt files: `prompts/NAME.yaml`, parsed, checked and rendered.

    name: support-chat
    description: Clara, the support assistant
    provider: openai            # openai | anthropic | echo
    model: gpt-4o-mini
    params: {temperature: 0.3}  # passed to the provider as they are
    base_url: null              # optional: any OpenAI-compatible server
    system: |                   # a Jinja2 template (sandboxed, undefined variables are errors)
      You are Clara ... {% if customer is defined %}Customer: {{ customer }}{% endif %}
    messages:                   # optional message templates fed by the item's variables
      - {role: user, content: "{{ question }}"}
    graders:                    # default graders (see reviewer.evals.graders)
      - {type: not_contains, value: "90 days"}

A dataset item's conversation is the input: the prompt's rendered system message comes first,
then the item's messages (its own system messages dropped: the prompt's replaces them), unless
the prompt has message templates, which are rendered with the item's variables instead. A
prompt without a system template keeps the item's system messages (a pass-through prompt, to
compare models on the logged conversations).

Every error names the file, the line and what is wrong (`PromptError`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import yaml
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reviewer.evals.graders import GraderError, check_graders
from reviewer.messages import last_user_text

PROVIDERS = ("openai", "anthropic", "echo", "replay")
TEMPLATE_ROLES = ("system", "user", "assistant")
#: Request keys a prompt sets elsewhere, so `params` may not hold them.
RESERVED_PARAMS = ("model", "messages", "system", "stream")


class PromptError(Exception):
    """A prompt file that cannot be used: `path: line N: what is wrong`."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}: line {line}" if line else path
        super().__init__(f"{where}: {reason}")


class MessageTemplate(BaseModel):
    """One message template: a role and a Jinja2 template for its content."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class SelfCritiqueSpec(BaseModel):
    """`self_critique: {model}`: a draft, a critique (by `model`, else the answering model),
    a revision. `self_critique: true` (or `{}`) takes the defaults."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None


class OptimizerSpec(BaseModel):
    """`optimizer: {provider, model, base_url}`: the model that proposes edits of this prompt
    (`reviewer.evals.optimize`); else REVIEWER_OPTIMIZER_MODEL / REVIEWER_OPTIMIZER_PROVIDER."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["openai", "anthropic"] | None = None
    model: str = Field(min_length=1)
    base_url: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class BestOfSpec(BaseModel):
    """`best_of: {n, judge}`: n answers, the judge (a model; else the answering model) picks
    one. `best_of: 3` is `{n: 3}`."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=2, le=20)
    judge: str | None = None


class EnsembleSpec(BaseModel):
    """`ensemble: [models]` or `{models, select, judge}`: each model answers; the majority of
    the normalised answers wins (`select: majority`), or a judge picks (`select: judge`)."""

    model_config = ConfigDict(extra="forbid")

    models: list[str]
    select: Literal["majority", "judge"] = "majority"
    judge: str | None = None

    @field_validator("models")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if not 2 <= len(value) <= 10:
            raise ValueError(f"two to ten models, not {len(value)}")
        if any(not m.strip() for m in value):
            raise ValueError("a model name cannot be empty")
        return value


#: The strategy keys of a prompt file that choose how an answer is made (one at most).
STRATEGY_KEYS = ("self_critique", "best_of", "ensemble")
_STRATEGY_FIELDS = {
    "self_critique": "model",
    "best_of": "n and judge",
    "ensemble": "models, select and judge",
}


class PromptFile(BaseModel):
    """A parsed prompt file. `path`, `text` and `hash` say where it came from (set by
    `parse_prompt`); templates are compiled once and kept."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    provider: Literal["openai", "anthropic", "echo", "replay"]
    model: str = Field(default="", validate_default=True)
    params: dict[str, Any] = Field(default_factory=dict)
    base_url: str | None = None
    system: str | None = None
    messages: list[MessageTemplate] | None = None
    graders: list[dict[str, Any]] = Field(default_factory=list)
    # a judge (`kind: judge`) grades a queue's items: `instructions` (a template that sees the
    # queue's rubric, themes and guidelines) and few-shot `examples` of graded items
    kind: Literal["prompt", "judge"] = "prompt"
    instructions: str | None = None
    examples: list[dict[str, Any]] = Field(default_factory=list)
    # strategies (reviewer.evals.strategies): n answers per case, and how an answer is made
    samples: int = Field(default=1, ge=1, le=100)
    self_critique: SelfCritiqueSpec | None = None
    best_of: BestOfSpec | None = None
    ensemble: EnsembleSpec | None = None
    # the model that proposes edits of this prompt (`reviewer prompts improve`, the lab's key)
    optimizer: OptimizerSpec | None = None

    _path: str = PrivateAttr(default="")
    _text: str = PrivateAttr(default="")
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)
    _compiled: dict[str, Template] | None = PrivateAttr(default=None)

    @field_validator("params")
    @classmethod
    def _no_reserved_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in RESERVED_PARAMS:
            if key in value:
                raise ValueError(f"{key!r} is not a parameter here (set it at the top level)")
        return value

    @field_validator("self_critique", mode="before")
    @classmethod
    def _critique_shorthand(cls, value: Any) -> Any:
        if value is True:
            return {}
        if value is False:
            return None
        return {"model": value} if isinstance(value, str) else value

    @field_validator("best_of", mode="before")
    @classmethod
    def _best_of_shorthand(cls, value: Any) -> Any:
        return {"n": value} if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("ensemble", mode="before")
    @classmethod
    def _ensemble_shorthand(cls, value: Any) -> Any:
        return {"models": value} if isinstance(value, list) else value

    @field_validator("graders", mode="before")
    @classmethod
    def _check_graders(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("a list of graders")
        return check_graders(value, "graders")

    @field_validator("model")
    @classmethod
    def _model_needed(cls, value: str, info: ValidationInfo) -> str:
        provider = info.data.get("provider")
        if provider in ("openai", "anthropic", "replay") and not value.strip():
            raise ValueError(f"missing (provider {provider} needs a model)")
        return value

    # -- where it came from ------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The file it was read from ("" when built in code)."""
        return self._path

    @property
    def text(self) -> str:
        """The exact text of the file ("" when built in code)."""
        return self._text

    @property
    def hash(self) -> str:
        """`prompt_hash` of the file's text (of its JSON form when built in code)."""
        return prompt_hash(self._text or self.model_dump_json())

    def line_of(self, key: str) -> int | None:
        """The file line where a template's text starts (`system`, `messages[0].content`)."""
        return self._lines.get(key)

    # -- templates ---------------------------------------------------------------------------

    @model_validator(mode="after")
    def _judge_fields(self) -> PromptFile:
        if self.kind == "judge" and not (self.instructions or "").strip():
            raise ValueError("a judge (kind: judge) needs instructions")
        if self.kind == "prompt" and (self.instructions is not None or self.examples):
            raise ValueError("instructions and examples are for judges: add kind: judge")
        chosen = [k for k in STRATEGY_KEYS if getattr(self, k) is not None]
        if self.kind == "judge" and (chosen or self.samples != 1):
            raise ValueError(
                "a judge (kind: judge) takes no strategy (samples, "
                + ", ".join(STRATEGY_KEYS)
                + ")"
            )
        if len(chosen) > 1:
            raise ValueError(
                f"{' and '.join(chosen)}: choose one way to make an answer (samples goes with any)"
            )
        return self

    def _sources(self) -> Iterator[tuple[str, str]]:
        if self.instructions is not None:
            yield "instructions", self.instructions
        if self.system is not None:
            yield "system", self.system
        for i, message in enumerate(self.messages or []):
            yield f"messages[{i}].content", message.content

    def templates(self) -> dict[str, Template]:
        """The compiled templates by key, compiled on first use; PromptError on bad syntax."""
        if self._compiled is None:
            compiled: dict[str, Template] = {}
            for key, source in self._sources():
                compiled[key] = _compile(self, key, source)
            self._compiled = compiled
        return self._compiled


def prompt_hash(text: str) -> str:
    """blake2b (128 bits, hex) of a prompt file's exact text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


# -- parsing ----------------------------------------------------------------------------------


_KNOWN_KEYS = tuple(PromptFile.model_fields)


def parse_prompt(text: str, path: str) -> PromptFile:
    """Parse and check a prompt file's text; PromptError names `path`, the line and what is
    wrong. The templates are compiled here, so template syntax errors show at load time."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise PromptError(
                path, None, "the file is empty (a prompt has name, provider, model...)"
            )
        _check_duplicate_keys(path, root)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise PromptError(path, line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise PromptError(path, None, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise PromptError(
            path,
            root.start_mark.line + 1,
            f"a prompt file is a mapping (name, provider, model, ...), not {_kind(data)}",
        )
    data = dict(data)
    data.setdefault("name", Path(path).stem)
    try:
        prompt = PromptFile.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err, root) for err in exc.errors()]
        problems.sort(key=lambda p: p[0] or 0)
        line, reason = problems[0]
        error = PromptError(path, line, reason)
        if len(problems) > 1:
            rest = "".join(
                f"\n{path}: line {ln}: {why}" if ln else f"\n{path}: {why}"
                for ln, why in problems[1:]
            )
            error.args = (str(error) + rest,)
        raise error from None
    prompt._path = path
    prompt._text = text
    prompt._lines = _template_lines(root)
    prompt.templates()  # compile now: syntax errors at load time
    return prompt


def load_prompt(path: str | Path) -> PromptFile:
    """Read and parse one prompt file."""
    shown = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise PromptError(shown, None, "no such file") from None
    except OSError as exc:
        raise PromptError(shown, None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PromptError(shown, line, "the file is not UTF-8 text") from None
    return parse_prompt(text, shown)


def prompt_files(workspace: str | Path) -> list[Path]:
    """The prompt files of a workspace (`prompts/*.yaml`, `*.yml`), sorted by name."""
    folder = Path(workspace) / "prompts"
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")], key=lambda p: p.name)


def load_prompts(workspace: str | Path) -> tuple[list[PromptFile], list[PromptError]]:
    """Every prompt of a workspace; a bad file is an error in the list, the good ones load.
    Paths are shown relative to the workspace (`prompts/support-chat.yaml`)."""
    root = Path(workspace)
    prompts: list[PromptFile] = []
    errors: list[PromptError] = []
    seen: dict[str, str] = {}
    for file in prompt_files(root):
        shown = f"prompts/{file.name}"
        try:
            raw = file.read_bytes()
        except OSError as exc:
            errors.append(PromptError(shown, None, f"cannot read the file: {exc.strerror or exc}"))
            continue
        try:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                raise PromptError(shown, line, "the file is not UTF-8 text") from None
            prompt = parse_prompt(text, shown)
        except PromptError as exc:
            errors.append(exc)
            continue
        if prompt.name in seen:
            errors.append(
                PromptError(
                    shown,
                    _line_of_key(text, "name"),
                    f"the name {prompt.name!r} is already used by {seen[prompt.name]}",
                )
            )
            continue
        seen[prompt.name] = shown
        prompts.append(prompt)
    return prompts, errors


def _check_duplicate_keys(path: str, node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        keys: set[Any] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in keys:
                    raise PromptError(path, key.start_mark.line + 1, f"duplicate key {key.value!r}")
                keys.add(key.value)
            _check_duplicate_keys(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _check_duplicate_keys(path, child)


def _line_of_key(text: str, key: str) -> int | None:
    match = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _node_line(root: yaml.Node, loc: tuple[Any, ...]) -> int:
    """The line of the YAML node at `loc` (a mapping entry's key line), else of the deepest
    node found on the way."""
    node = root
    line = root.start_mark.line + 1
    for step in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == step:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if not 0 <= step < len(node.value):
                return line
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _describe(err: Any, root: yaml.Node) -> tuple[int | None, str]:
    """A pydantic error as (line, reason)."""
    loc = tuple(err.get("loc") or ())
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, GraderError):
        loc = (*loc, *(s for s in (cause.index, cause.field) if s is not None))
        return _node_line(root, loc), f"{_loc_text(loc)}: {cause.reason}"
    where = _loc_text(loc)
    line: int | None = _node_line(root, loc)
    if loc and not _has_key(root, loc[0]):
        line = None  # the key is not in the file: it has no line
    if kind == "extra_forbidden":
        if len(loc) == 1:
            return line, f"unknown key {loc[-1]!r} (a prompt file has {', '.join(_KNOWN_KEYS)})"
        parent = _loc_text(loc[:-1])
        if loc[0] in _STRATEGY_FIELDS:
            has = _STRATEGY_FIELDS[str(loc[0])]
            return line, f"{parent}: unknown key {loc[-1]!r} ({loc[0]} has {has})"
        return line, f"{parent}: unknown key {loc[-1]!r} (a message template has role and content)"
    if kind == "missing":
        # a missing key has no line of its own; inside a list entry, the entry's line
        return line, f"{where}: missing (required)"
    message = str(err.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    if kind == "literal_error" or kind.endswith("_type"):
        return line, f"{where}: {message}, not {_short(err.get('input'))}"
    if not loc:
        return line, message
    return line, f"{where}: {message}"


def _has_key(node: yaml.Node, key: Any) -> bool:
    return isinstance(node, yaml.MappingNode) and any(
        isinstance(k, yaml.ScalarNode) and k.value == key for k, _ in node.value
    )


def _loc_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else str(step)
    return out or "prompt"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a text"
    return f"a {type(value).__name__}"


def _template_lines(root: yaml.Node) -> dict[str, int]:
    """File line (1-based) of the first line of each template's text."""
    lines: dict[str, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value in ("system", "instructions") and isinstance(value, yaml.ScalarNode):
            lines[key.value] = _text_start(value)
        elif key.value == "messages" and isinstance(value, yaml.SequenceNode):
            for i, entry in enumerate(value.value):
                if not isinstance(entry, yaml.MappingNode):
                    continue
                for k, v in entry.value:
                    if (
                        isinstance(k, yaml.ScalarNode)
                        and k.value == "content"
                        and isinstance(v, yaml.ScalarNode)
                    ):
                        lines[f"messages[{i}].content"] = _text_start(v)
    return lines


def _text_start(node: yaml.ScalarNode) -> int:
    # A block scalar (| or >) starts on the line after its indicator.
    line = node.start_mark.line + 1
    return line + 1 if node.style in ("|", ">") else line


# -- rendering --------------------------------------------------------------------------------


#: The most text one template may render (a prompt is at most a few hundred KB; a template
#: that renders more is a mistake, or an attack on memory).
MAX_RENDERED_CHARS = 4 * 1024 * 1024


class _BoundedSandbox(SandboxedEnvironment):
    """The sandbox, with `text * n` and `list * n` refused when the result would pass the
    rendering limit (the product is built before anything could look at its size), and powers
    too large to compute."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(n, int)
                    and len(seq) * n > MAX_RENDERED_CHARS
                ):
                    raise SecurityError(
                        f"the result would be {len(seq) * n:,} long, over the limit of "
                        f"{MAX_RENDERED_CHARS:,} characters a template may render"
                    )
        elif (
            isinstance(left, int)
            and isinstance(right, int)
            and right > 0
            and abs(left).bit_length() * right > 1 << 16
        ):
            raise SecurityError(f"{left} ** {right} is too large a number for a template")
        return super().call_binop(context, operator, left, right)


_ENV = _BoundedSandbox(
    undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
)
_UNDEFINED = re.compile(r"^'(.+)' is undefined$")
_NO_ATTRIBUTE = re.compile(r"has no (?:attribute|element) (.+)$")


def _label(prompt: PromptFile) -> str:
    return prompt.path or f"prompt {prompt.name}"


def _compile(prompt: PromptFile, key: str, source: str) -> Template:
    name = f"{_label(prompt)}#{key}"
    try:
        code = _ENV.compile(source, name=name, filename=name)
    except TemplateSyntaxError as exc:
        raise PromptError(
            _label(prompt),
            _file_line(prompt, key, exc.lineno),
            f"template error in {key}: {exc.message}",
        ) from None
    return _ENV.template_class.from_code(_ENV, code, _ENV.make_globals(None))


def _file_line(prompt: PromptFile, key: str, template_line: int | None) -> int | None:
    start = prompt.line_of(key)
    if start is None:
        return None
    return start + max((template_line or 1) - 1, 0)


def _template_line(tb: TracebackType | None, name: str) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def template_vars(item: dict[str, Any]) -> dict[str, Any]:
    """What templates see: the item's variables, plus `messages` (its conversation, canonical
    messages) and `question` (its last user message) unless its variables use those names.
    The expected answer is never exposed."""
    messages = list(item.get("messages") or [])
    context: dict[str, Any] = dict(item.get("vars") or {})
    context.setdefault("messages", messages)
    context.setdefault("question", last_user_text(messages))
    return context


def _bounded(template: Template, context: dict[str, Any]) -> str:
    """The template's text, rendered piece by piece and stopped at MAX_RENDERED_CHARS."""
    pieces: list[str] = []
    size = 0
    for piece in template.generate(context):
        size += len(piece)
        if size > MAX_RENDERED_CHARS:
            raise SecurityError(
                f"it renders more than {MAX_RENDERED_CHARS:,} characters, the limit for a template"
            )
        pieces.append(piece)
    return "".join(pieces)


def _render_one(prompt: PromptFile, key: str, template: Template, context: dict[str, Any]) -> str:
    try:
        return _bounded(template, context).rstrip()
    except UndefinedError as exc:
        line = _file_line(prompt, key, _template_line(exc.__traceback__, template.filename or ""))
        message = str(exc)
        match = _UNDEFINED.match(message)
        attr = _NO_ATTRIBUTE.search(message)
        if match:
            what = f"undefined variable {match.group(1)!r}"
        elif attr:
            what = f"undefined attribute {attr.group(1)}"
        else:
            what = f"undefined: {message}"
        raise PromptError(_label(prompt), line, f"{what} in {key}") from None
    except Exception as exc:  # a sandbox refusal, a type error in an expression...
        line = _file_line(prompt, key, _template_line(exc.__traceback__, template.filename or ""))
        raise PromptError(
            _label(prompt), line, f"template error in {key}: {type(exc).__name__}: {exc}"
        ) from None


def render(prompt: PromptFile, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The canonical messages a prompt sends for a dataset item (see the module docstring).
    PromptError names the prompt, the line and the variable when a template fails."""
    templates = prompt.templates()
    context = template_vars(item)
    out: list[dict[str, Any]] = []
    if prompt.system is not None:
        system = _render_one(prompt, "system", templates["system"], context)
        if system.strip():
            out.append({"role": "system", "content": system})
    if prompt.messages:
        for i, message in enumerate(prompt.messages):
            key = f"messages[{i}].content"
            out.append(
                {"role": message.role, "content": _render_one(prompt, key, templates[key], context)}
            )
        return out
    for message in item.get("messages") or []:
        if prompt.system is not None and message.get("role") == "system":
            continue
        out.append(dict(message))
    return out


def render_instructions(judge: PromptFile, context: dict[str, Any]) -> str:
    """A judge's instructions rendered with `context` (PromptError names the line at fault)."""
    return _render_one(judge, "instructions", judge.templates()["instructions"], context)
