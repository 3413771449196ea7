"""Masking secrets and personal data: always for credentials at import, on request for the rest.

Credentials (`scrub_credentials`, `scrub_credential_text`): at import, the values of credential
headers and fields (Authorization, Proxy-Authorization, X-Api-Key, api-key, api_key, cookies,
client secrets, passwords) become `[redacted]` in the stored record and in the stored raw text
alike; a review tool has no use for them, so no file of the workspace holds them.

Personal data (`--redact` on export and import): every string goes through `redact_text`,
which replaces

    API keys and tokens     sk-..., sk-ant-..., sk-proj-..., pk-lf-.../sk-lf-..., AKIA...,
                            ghp_/gho_/ghs_/ghu_/ghr_..., github_pat_..., xoxb-/xoxp-/...,
                            hf_..., AIza..., the token after "Bearer", the credentials
                            after "Authorization: Basic"                  -> [api-key]
    JSON Web Tokens         eyJ....eyJ....signature                        -> [jwt]
    e-mail addresses                                                       -> [email]
    IBANs                   DE89 3704 0044 0532 0130 00, GB29NWBK60161331926819,
                            FR14 2004 1010 0505 0001 3M02 606 (checksum-valid)  -> [iban]
    card-like numbers       13-19 digits, maybe grouped by spaces or dashes,
                            starting with 2-6 and passing the Luhn check   -> [card]
    phone numbers           international (+49 40 1234567), with an area code in
                            parentheses ((040) 123 4567), North American (555-123-4567)
                            and national numbers with a leading 0 and a separator
                            (040 12345678, 0176-1234567)                  -> [phone]

It is pattern matching, not understanding: it misses what does not look like the patterns
(a phone number written in words, a key of an unknown shape, a name or an address) and may
mask a number that only looks like one of them. Order ids (A-10423), prices (119 EUR,
1,299.00), sizes (EU 42, 36-47), dates (2026-09-01, 01.09.2026) and times are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

EMAIL = "[email]"
PHONE = "[phone]"
CARD = "[card]"
API_KEY = "[api-key]"
JWT = "[jwt]"
IBAN = "[iban]"
REDACTED = "[redacted]"

_API_KEY = re.compile(
    r"""
    (?<![A-Za-z0-9_-])
    (?:
        sk-ant-[A-Za-z0-9_-]{16,}                 # Anthropic
      | (?:sk|pk)-lf-[A-Za-z0-9-]{8,}            # Langfuse public/secret keys
      | sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}  # OpenAI and the many sk- keys
      | (?:AKIA|ASIA)[0-9A-Z]{16}                 # AWS access key ids
      | gh[pousr]_[A-Za-z0-9]{30,}                # GitHub tokens
      | github_pat_[A-Za-z0-9_]{30,}
      | xox[abposr]-[A-Za-z0-9-]{10,}             # Slack
      | hf_[A-Za-z0-9]{30,}                       # Hugging Face
      | AIza[0-9A-Za-z_-]{35}                     # Google API keys
    )
    (?![A-Za-z0-9_-])
    """,
    re.VERBOSE,
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{12,}")
_BASIC = re.compile(
    r"""(?i)(authorization\\?["']?\s*[:=]\s*\\?["']?\s*basic\s+)[A-Za-z0-9+/]{4,}={0,2}"""
)
_JWT = re.compile(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}"
)
# country code, check digits, then 11 to 30 letters and digits, maybe in groups of four
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])"
)
# 13-19 digits, single spaces or dashes allowed between them; not part of a longer number (the
# look-behind follows the first digit, so the search can skip ahead to digits: 3x faster)
_CARD = re.compile(r"[2-6](?<![\w.,+-].)(?:[ -]?\d){12,18}(?![\w]|[.,-]\d)")
_PHONE = re.compile(
    r"""
    (?<![\w.,/+-])
    (?:
        \+\d{1,3}(?:[ .-]?\(\d{1,5}\))?(?:[ .-]?\d{1,5}){2,6}      # +49 40 1234567, +1 (555) 123-4567
      | \(\d{2,5}\)[ .-]?\d{3,5}(?:[ .-]?\d{2,5}){0,2}            # (040) 123 4567
      | \d{3}[.-]\d{3}[.-]\d{4}                                   # 555-123-4567
      | 0\d{2,4}(?:[ /-]\d{2,8}){1,3}                             # 040 12345678, 0176-123 45 67
    )
    (?![\w]|[.,/-]\d)
    """,
    re.VERBOSE,
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return CARD if 13 <= len(digits) <= 19 and _luhn(digits) else match.group()


def _iban(match: re.Match[str]) -> str:
    """An IBAN when its mod-97 checksum holds (ISO 13616), else the text as it was."""
    text = match.group()
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return text
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return IBAN if int(number) % 97 == 1 else text


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = sum(ch.isdigit() for ch in text)
    if text.startswith("0") and not 9 <= digits <= 13:
        return text  # short national numbers are more likely something else
    return PHONE if 7 <= digits <= 15 else text


# cheap checks that skip a pattern when the text cannot hold a match
_KEY_HINTS = ("sk-", "pk-lf-", "AKIA", "ASIA", "gh", "github_pat_", "xox", "hf_", "AIza")
_DIGIT_RUN = re.compile(r"\d[\d ()./-]{5,}\d")  # a phone number has 7 digits or more
_IBAN_HINT = re.compile(r"[A-Z]{2}\d{2}")


@lru_cache(maxsize=4096)  # system prompts and tool results repeat from item to item
def redact_text(text: str) -> str:
    """`text` with API keys, tokens, e-mail addresses, IBANs, card numbers and phone numbers
    masked."""
    if not text:
        return text
    if any(hint in text for hint in _KEY_HINTS):
        text = _API_KEY.sub(API_KEY, text)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(lambda m: m.group(1) + API_KEY, text)
    if "eyJ" in text:
        text = _JWT.sub(JWT, text)
    if "asic" in text or "ASIC" in text:
        text = _BASIC.sub(lambda m: m.group(1) + API_KEY, text)
    if _IBAN_HINT.search(text):
        text = _IBAN.sub(_iban, text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    if _DIGIT_RUN.search(text):
        text = _CARD.sub(_card, text)
        text = _PHONE.sub(_phone, text)
    return text


def redact_value(value: Any) -> Any:
    """`value` with every string in it (nested in lists and dict values) redacted; dict keys
    are names (template variables, score names) and stay as they are."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value


# -- credentials, always scrubbed at import -------------------------------------------------------

#: Field and header names whose values are credentials (lowercase, `-` as `_`).
CREDENTIAL_KEYS = frozenset(
    {
        "authorization", "proxy_authorization", "x_api_key", "api_key", "apikey", "api_token",
        "x_goog_api_key", "openai_api_key", "anthropic_api_key", "azure_api_key", "x_auth_token",
        "auth_token", "access_token", "refresh_token", "id_token", "client_secret", "secret_key",
        "aws_secret_access_key", "aws_session_token", "password", "passwd", "cookie", "cookies",
        "set_cookie",
    }
)  # fmt: skip
#: Cheap tests on the raw text before anything is walked (lowercased).
_CREDENTIAL_HINTS = (
    "authoriz", "api-key", "api_key", "apikey", "api_token", "cookie", "secret", "password",
    "passwd", "access_token", "refresh_token", "id_token", "auth_token", "auth-token",
    "session_token",
)  # fmt: skip
_HEADER_NAMES = (
    r"authorization|proxy-authorization|x-api-key|api-key|x-goog-api-key|cookie|set-cookie"
)
#: `Name: value` headers inside a text (a logged curl command, an HTTP dump); the value ends at
#: the end of the line or at a quote or backslash (the end of a quoted argument, an escape)
_HEADER_LINE = re.compile(
    rf"(?i)(?:(?<![\w-])|(?<=\\[nr]))((?:{_HEADER_NAMES})\s*:[ \t]*)([^\s\"\\][^\r\n\"\\]*)"
)
_QUOTED_VALUE = r'"(?:[^"\\]|\\.)*"'
_ESCAPED_VALUE = r'\\"(?:[^"\\]|\\[^"])*\\"'
_KEY_NAMES = "|".join(
    sorted((k.replace("_", "[-_]") for k in CREDENTIAL_KEYS), key=len, reverse=True)
)
#: `"name": "value"` pairs inside a text, also as escaped JSON inside a JSON string
_PAIR = re.compile(
    rf'(?i)("(?:[\w.-]*\.)?(?:{_KEY_NAMES})"\s*:\s*){_QUOTED_VALUE}'
    rf'|(\\"(?:[\w.-]*\.)?(?:{_KEY_NAMES})\\"\s*:\s*){_ESCAPED_VALUE}'
)


_TOKEN_OWNERS = ("access", "refresh", "id", "auth", "session", "api")


@dataclass(frozen=True, slots=True)
class _Hints:
    """The pre-check's words in one spelling (str or bytes)."""

    words: tuple[Any, ...]
    api: Any
    api_keys: tuple[Any, ...]
    owners: tuple[Any, ...]
    separators: tuple[Any, ...]

    @classmethod
    def of(cls, enc: Any) -> _Hints:
        return cls(
            tuple(enc(w) for w in ("authoriz", "cookie", "secret", "passw")),
            enc("api"),
            tuple(enc(h) for h in ("api-key", "api_key", "apikey")),
            tuple(enc(o) for o in _TOKEN_OWNERS),
            (enc("_token"), enc("-token")),
        )


_STR_HINTS = _Hints.of(str)
_BYTES_HINTS = _Hints.of(str.encode)


def _hints(text: Any) -> bool:
    """Whether lowercased `text` (str or bytes) holds one of _CREDENTIAL_HINTS. Few scans of
    the line: every LLM log says `_tokens` (usage), so the `*_token` names are found from the
    occurrences of `_token` rather than one scan each."""
    hints = _BYTES_HINTS if isinstance(text, bytes) else _STR_HINTS
    authoriz, cookie, secret, passw = hints.words  # one test each, without a generator
    if authoriz in text or cookie in text or secret in text or passw in text:
        return True
    if hints.api in text and any(h in text for h in hints.api_keys):
        return True
    for sep in hints.separators:
        at = text.find(sep)
        while at != -1:
            if text[max(0, at - 7) : at].endswith(hints.owners):
                return True
            at = text.find(sep, at + 6)
    return False


def may_hold_credentials(raw: str | bytes) -> bool:
    """False when `raw` surely holds no credential field (a cheap test before a walk)."""
    return _hints(raw.lower())


def _credential_key(key: Any) -> bool:
    """A credential's name, also as the last part of a dotted attribute name
    (`http.request.header.authorization`, OpenTelemetry's way)."""
    if not isinstance(key, str):
        return False
    return key.rsplit(".", 1)[-1].strip().lower().replace("-", "_") in CREDENTIAL_KEYS


def scrub_credential_text(text: str) -> str:
    """`text` with the values of credential headers (`Name: value` lines) and of credential
    fields written as JSON (`"api_key": "..."`, also escaped inside a JSON string) replaced."""
    if not may_hold_credentials(text):
        return text
    text = _HEADER_LINE.sub(lambda m: m.group(1) + REDACTED, text)
    return _PAIR.sub(
        lambda m: f'{m.group(1)}"{REDACTED}"' if m.group(1) else f'{m.group(2)}\\"{REDACTED}\\"',
        text,
    )


def scrub_credentials(value: Any, found: list[str]) -> Any:
    """`value` with every credential replaced by `[redacted]`: the values of credential keys
    (whatever they hold), `{"name": "Authorization", "value": ...}` pairs and `[name, value]`
    header lists, and credential headers written inside texts. The secret texts it took out
    are appended to `found` (to take them out of the raw text as well)."""
    if isinstance(value, str):
        return scrub_credential_text(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        named = _credential_key(value.get("name") or value.get("key"))
        for key, item in value.items():
            if (_credential_key(key) or (named and key == "value")) and item not in (None, ""):
                _secrets(item, found)
                out[key] = REDACTED
            else:
                out[key] = scrub_credentials(item, found)
        return out
    if isinstance(value, list):
        if len(value) == 2 and _credential_key(value[0]) and isinstance(value[1], str):
            _secrets(value[1], found)
            return [value[0], REDACTED]
        return [scrub_credentials(item, found) for item in value]
    return value


def _secrets(value: Any, found: list[str]) -> None:
    if isinstance(value, str):
        if len(value) >= 4 and value != REDACTED:
            found.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _secrets(item, found)
    elif isinstance(value, list):
        for item in value:
            _secrets(item, found)
