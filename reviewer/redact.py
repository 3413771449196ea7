"""Best-effort masking of personal data and secrets in exported text (`--redact`).

Every string of an exported object (messages, tool arguments, expected and logged answers,
template variables, notes, ids) goes through `redact_text`, which replaces

    API keys and tokens     sk-..., sk-ant-..., sk-proj-..., pk-lf-.../sk-lf-..., AKIA...,
                            ghp_/gho_/ghs_/ghu_/ghr_..., github_pat_..., xoxb-/xoxp-/...,
                            hf_..., AIza..., and the token after "Bearer"   -> [api-key]
    e-mail addresses                                                       -> [email]
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
from functools import lru_cache
from typing import Any

EMAIL = "[email]"
PHONE = "[phone]"
CARD = "[card]"
API_KEY = "[api-key]"

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


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = sum(ch.isdigit() for ch in text)
    if text.startswith("0") and not 9 <= digits <= 13:
        return text  # short national numbers are more likely something else
    return PHONE if 7 <= digits <= 15 else text


# cheap checks that skip a pattern when the text cannot hold a match
_KEY_HINTS = ("sk-", "pk-lf-", "AKIA", "ASIA", "gh", "github_pat_", "xox", "hf_", "AIza")
_DIGIT_RUN = re.compile(r"\d[\d ()./-]{5,}\d")  # a phone number has 7 digits or more


@lru_cache(maxsize=4096)  # system prompts and tool results repeat from item to item
def redact_text(text: str) -> str:
    """`text` with API keys, e-mail addresses, card numbers and phone numbers masked."""
    if not text:
        return text
    if any(hint in text for hint in _KEY_HINTS):
        text = _API_KEY.sub(API_KEY, text)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(lambda m: m.group(1) + API_KEY, text)
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
