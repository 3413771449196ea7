"""Redaction masks e-mail addresses, phone numbers, card numbers and API keys, and leaves the
ordinary numbers of shop conversations (order ids, prices, sizes, dates) alone."""

from __future__ import annotations

import pytest

from reviewer.redact import redact_text, redact_value


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("write to jane.doe+shoes@example.co.uk today", "write to [email] today"),
        ("help@cobbler.co", "[email]"),
        ("<ana_b-7@mail.example.de>", "<[email]>"),
        ('{"email": "a.b@c.io"}', '{"email": "[email]"}'),
    ],
)
def test_email_addresses(text, masked):
    assert redact_text(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call +49 40 1234 5678 now", "call [phone] now"),
        ("call +49 (0)40 1234567", "call [phone]"),
        ("+1 (555) 123-4567", "[phone]"),
        ("+44 20 7946 0958.", "[phone]."),
        ("(040) 123 4567", "[phone]"),
        ("555-123-4567 or 555.123.4567", "[phone] or [phone]"),
        ("mobile 0176-1234567, office 040 12345678", "mobile [phone], office [phone]"),
        ("Tel: 030/1234567", "Tel: [phone]"),
        ("0049 40 123456", "[phone]"),
    ],
)
def test_phone_numbers(text, masked):
    assert redact_text(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("card 4111 1111 1111 1111 ok", "card [card] ok"),
        ("4111-1111-1111-1111", "[card]"),
        ("paid with 4111111111111111.", "paid with [card]."),
        ("amex 3782 822463 10005", "amex [card]"),
        ("mastercard 5555555555554444", "mastercard [card]"),
        ("19 digits 6011 0009 9013 9424 000", "19 digits 6011 0009 9013 9424 000"),  # fails Luhn
    ],
)
def test_card_numbers_pass_the_luhn_check(text, masked):
    assert redact_text(text) == masked


def test_a_number_that_fails_the_luhn_check_is_not_a_card():
    assert redact_text("ref 4111111111111112") == "ref 4111111111111112"


@pytest.mark.parametrize(
    "text",
    [
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "sk-abcdefghijklmnopqrstuvwxyz012345",
        "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz0123456789",
        "pk-lf-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "sk-lf-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxp-1234-5678-9012-abcdef",
        "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    ],
)
def test_api_keys(text):
    assert redact_text(f"key={text};") == "key=[api-key];"
    assert redact_text(f'"api_key": "{text}"') == '"api_key": "[api-key]"'


def test_bearer_tokens_keep_the_word():
    header = "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    assert redact_text(header) == "Authorization: Bearer [api-key]"
    assert redact_text("bearer abcdefghijklmnop123") == "bearer [api-key]"


@pytest.mark.parametrize(
    "text",
    [
        "Where is my order A-10423? It was order #10423.",
        "The Milano Loafer (CB-2041-BRN) costs 119 EUR, now 1,299.00 EUR for ten, or 89.90.",
        "EU sizes 36-47, I wear a 42.5; kids 24-35.",
        "Delivered on 2026-09-01 (01.09.2026, 9/1/2026) at 10:30, in 3-5 business days.",
        "Returns within 30 days; refund within 5 business days; 12 months warranty.",
        "Tracking 1Z999AA10123456784, invoice 2026-10-24-17, order id 20261024-0001.",
        "timestamp 1732105200123 and 2026-11-20T09:00:00.000Z",
        "ISBN 978-3-16-148410-0, postcode 20095 Hamburg, weight 0.75 kg",
        "risk-free, task-based, sk-8 is not a key, desk-top",
        "score 4/5, +5 EUR, -10 %, 60 EUR free shipping",
    ],
)
def test_ordinary_numbers_and_words_stay(text):
    assert redact_text(text) == text


def test_several_kinds_in_one_text():
    text = (
        "I'm Ana (ana@example.com, +49 170 1234567), card 4242 4242 4242 4242, "
        "my key sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2 for order A-10423 of 119 EUR."
    )
    assert redact_text(text) == (
        "I'm Ana ([email], [phone]), card [card], my key [api-key] for order A-10423 of 119 EUR."
    )


def test_redact_value_reaches_every_string_but_not_keys():
    value = {
        "id": "ds/1",
        "messages": [{"role": "user", "content": "mail bob@example.org"}],
        "vars": {"email": "bob@example.org", "n": 3, "ok": True, "none": None},
        "tool": {"arguments": '{"phone": "+44 20 7946 0958"}'},
    }
    assert redact_value(value) == {
        "id": "ds/1",
        "messages": [{"role": "user", "content": "mail [email]"}],
        "vars": {"email": "[email]", "n": 3, "ok": True, "none": None},
        "tool": {"arguments": '{"phone": "[phone]"}'},
    }
    assert redact_text("") == ""


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB29 NWBK 6016 1331 9268 19",
        "GB29NWBK60161331926819",
        "FR14 2004 1010 0505 0001 3M02 606",
        "FR1420041010050500013M02606",
    ],
)
def test_ibans(iban):
    assert redact_text(f"Pay to {iban}, thanks") == "Pay to [iban], thanks"
    tool_result = '{"refund_to": "' + iban + '", "status": "ok"}'
    assert redact_text(tool_result) == '{"refund_to": "[iban]", "status": "ok"}'


def test_an_iban_with_a_wrong_checksum_stays():
    assert redact_text("DE12 3704 0044 0532 0130 00") == "DE12 3704 0044 0532 0130 00"
    assert redact_text("order CB2041BRN42 and DE42") == "order CB2041BRN42 and DE42"


def test_basic_authorization_and_bare_jwts():
    assert redact_text("Authorization: Basic dXNlcjpwYXNzd29yZA==") == (
        "Authorization: Basic [api-key]"
    )
    assert redact_text('{"authorization": "Basic dXNlcjpwYXNz"}') == (
        '{"authorization": "Basic [api-key]"}'
    )
    assert redact_text("a basic question about sizes") == "a basic question about sizes"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert redact_text(f"session {jwt} expired") == "session [jwt] expired"


def test_redact_value_reaches_tool_results():
    value = {"role": "tool", "content": '{"iban": "GB29 NWBK 6016 1331 9268 19"}'}
    assert redact_value(value)["content"] == '{"iban": "[iban]"}'
