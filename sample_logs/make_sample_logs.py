#!/usr/bin/env python3
# ruff: noqa: E501
"""Generate the Cobbler & Co demo corpus: production logs of two LLM endpoints of a fictional
online shoe shop, and a multi-step support agent, in three formats the importer reads.

    python sample_logs/make_sample_logs.py            # writes into sample_logs/
    python sample_logs/make_sample_logs.py --out DIR  # writes into DIR

Files written:
  support-chat.openai.jsonl     OpenAI Chat Completions request + response pairs (and a few errors)
  support-chat.anthropic.jsonl  the same assistant on Anthropic Messages for part of the traffic
  extract-order.otlp.jsonl      OpenTelemetry GenAI spans in OTLP/JSON (collector file exporter)
  support-agent.otlp.jsonl      the support agent's traces: invoke_agent, chat and execute_tool spans

Everything comes from one random.Random with a fixed seed and fixed dates, so running the
script again writes byte-identical files. Injected failure patterns are recorded nowhere in
the output (reviewers must find them); the script prints their counts, which README.md lists.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import string
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20261120
#: The corpus covers the four weeks up to and including 2026-11-20 (UTC).
START = datetime(2026, 10, 24, tzinfo=UTC)
END = datetime(2026, 11, 21, tzinfo=UTC)

N_CONVERSATIONS = 104
N_EMAILS = 100
ANTHROPIC_SHARE = 0.3
#: transient provider errors logged instead of a response: (OpenAI, Anthropic)
CHAT_ERRORS = (4, 2)
#: feedback given: (thumbs down on failed answers, thumbs up on good answers, thumbs down on good answers)
FEEDBACK = (26, 17, 4)

OUT_DEFAULT = Path(__file__).resolve().parent
FILES = ("support-chat.openai.jsonl", "support-chat.anthropic.jsonl", "extract-order.otlp.jsonl")

FAILURES = (
    "invented_policy",
    "wrong_language",
    "constraint_ignored",
    "broken_json",
    "refusal",
    "rambling",
)

# --------------------------------------------------------------------------------------------
# The shop: catalogue, customers, languages
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    material: str
    price: float
    colors: tuple[str, ...]
    fit: str  # tts | small_half | small_one | large_half | large_one
    vegan: bool
    category: str  # sneaker | boot | loafer | flat | sandal | slipper | kids | runner
    sizes: tuple[int, int] = (36, 47)


PRODUCTS = [
    Product("CB-2041", "Milano Loafer", "leather", 119.0, ("BRN", "BLK"), "tts", False, "loafer"),
    Product(
        "CB-3310",
        "Nordkap Chelsea Boot",
        "leather",
        149.0,
        ("BLK", "TAN"),
        "large_half",
        False,
        "boot",
    ),
    Product(
        "CB-1187",
        "Trail Runner X",
        "synthetic mesh, vegan",
        89.0,
        ("GRY", "NVY"),
        "small_one",
        True,
        "runner",
    ),
    Product(
        "CB-1020",
        "Sunday Sneaker",
        "organic canvas, vegan",
        59.0,
        ("WHT", "NVY", "GRN"),
        "tts",
        True,
        "sneaker",
    ),
    Product(
        "CB-1204",
        "Vega Runner",
        "recycled mesh, vegan",
        74.0,
        ("BLK", "WHT"),
        "tts",
        True,
        "runner",
    ),
    Product(
        "CB-4402",
        "Rosa Ballet Flat",
        "leather",
        79.0,
        ("BEI", "RED"),
        "small_half",
        False,
        "flat",
        (35, 42),
    ),
    Product(
        "CB-3550", "Highland Hiking Boot", "nubuck leather", 169.0, ("BRN",), "tts", False, "boot"
    ),
    Product(
        "CB-5101",
        "Sevilla Espadrille",
        "canvas and jute, vegan",
        45.0,
        ("BEI", "NVY"),
        "large_one",
        True,
        "sandal",
    ),
    Product("CB-2260", "Oxford Classic", "leather", 139.0, ("BLK", "BRN"), "tts", False, "loafer"),
    Product(
        "CB-6010", "Cloudstep Slipper", "wool felt", 39.0, ("GRY",), "large_half", False, "slipper"
    ),
    Product("CB-3390", "Desert Suede Boot", "suede", 129.0, ("TAN", "GRY"), "tts", False, "boot"),
    Product(
        "CB-7003",
        "Puddle Kids Boot",
        "natural rubber, vegan",
        35.0,
        ("RED", "GRN"),
        "tts",
        True,
        "kids",
        (24, 35),
    ),
    Product("CB-1240", "Metro Court Sneaker", "leather", 99.0, ("WHT",), "tts", False, "sneaker"),
    Product(
        "CB-1310",
        "Luna Chelsea Boot",
        "vegan leather (polyurethane)",
        95.0,
        ("BLK",),
        "tts",
        True,
        "boot",
    ),
    Product(
        "CB-1255",
        "Metro Court Sneaker Vegan",
        "apple-based vegan leather",
        79.0,
        ("WHT", "BLK"),
        "tts",
        True,
        "sneaker",
    ),
]
BY_NAME = {p.name: p for p in PRODUCTS}
ADULT = [p for p in PRODUCTS if p.category != "kids"]

COLORS = {
    "en": {
        "BLK": "black",
        "BRN": "brown",
        "TAN": "tan",
        "GRY": "grey",
        "NVY": "navy",
        "WHT": "white",
        "GRN": "green",
        "BEI": "beige",
        "RED": "red",
    },
    "de": {
        "BLK": "Schwarz",
        "BRN": "Braun",
        "TAN": "Cognac",
        "GRY": "Grau",
        "NVY": "Navy",
        "WHT": "Weiß",
        "GRN": "Grün",
        "BEI": "Beige",
        "RED": "Rot",
    },
    "fr": {
        "BLK": "noir",
        "BRN": "marron",
        "TAN": "camel",
        "GRY": "gris",
        "NVY": "bleu marine",
        "WHT": "blanc",
        "GRN": "vert",
        "BEI": "beige",
        "RED": "rouge",
    },
    "es": {
        "BLK": "negro",
        "BRN": "marrón",
        "TAN": "camel",
        "GRY": "gris",
        "NVY": "azul marino",
        "WHT": "blanco",
        "GRN": "verde",
        "BEI": "beige",
        "RED": "rojo",
    },
}

FIT = {
    "en": {
        "tts": "fits true to size, so take your usual size",
        "small_half": "runs about half a size small, so we recommend going half a size up",
        "small_one": "runs small; most customers go one full size up",
        "large_half": "runs about half a size large; if you are between sizes, take the smaller one",
        "large_one": "runs large, so we recommend one size down",
    },
    "de": {
        "tts": "fällt normal aus, nimm also deine übliche Größe",
        "small_half": "fällt etwa eine halbe Nummer kleiner aus, wir empfehlen eine halbe Größe größer",
        "small_one": "fällt klein aus; die meisten Kundinnen und Kunden nehmen eine ganze Nummer größer",
        "large_half": "fällt etwa eine halbe Nummer größer aus; zwischen zwei Größen lieber die kleinere nehmen",
        "large_one": "fällt groß aus, wir empfehlen eine Nummer kleiner",
    },
    "fr": {
        "tts": "taille normalement, prenez donc votre pointure habituelle",
        "small_half": "taille environ une demi-pointure petit, nous conseillons une demi-pointure au-dessus",
        "small_one": "taille petit ; la plupart des clients prennent une pointure au-dessus",
        "large_half": "taille environ une demi-pointure grand ; entre deux pointures, prenez la plus petite",
        "large_one": "taille grand, nous conseillons une pointure en dessous",
    },
    "es": {
        "tts": "tallan normal, así que elige tu talla habitual",
        "small_half": "tallan media talla pequeño, te recomendamos media talla más",
        "small_one": "tallan pequeño; la mayoría de clientes pide una talla más",
        "large_half": "tallan media talla grande; si dudas entre dos tallas, elige la menor",
        "large_one": "tallan grande, te recomendamos una talla menos",
    },
}

MATERIALS = {
    "leather": ("Leder", "cuir", "piel"),
    "synthetic mesh, vegan": (
        "Synthetik-Mesh, vegan",
        "mesh synthétique, vegan",
        "malla sintética, vegana",
    ),
    "organic canvas, vegan": ("Bio-Canvas, vegan", "toile bio, vegan", "lona orgánica, vegana"),
    "recycled mesh, vegan": (
        "recyceltes Mesh, vegan",
        "mesh recyclé, vegan",
        "malla reciclada, vegana",
    ),
    "nubuck leather": ("Nubukleder", "nubuck", "nobuk"),
    "canvas and jute, vegan": (
        "Canvas und Jute, vegan",
        "toile et jute, vegan",
        "lona y yute, vegana",
    ),
    "wool felt": ("Wollfilz", "feutre de laine", "fieltro de lana"),
    "suede": ("Veloursleder", "daim", "ante"),
    "natural rubber, vegan": (
        "Naturkautschuk, vegan",
        "caoutchouc naturel, vegan",
        "caucho natural, vegano",
    ),
    "vegan leather (polyurethane)": (
        "veganes Leder (Polyurethan)",
        "cuir vegan (polyuréthane)",
        "piel vegana (poliuretano)",
    ),
    "apple-based vegan leather": (
        "veganes Apfelleder",
        "cuir vegan à base de pomme",
        "piel vegana de manzana",
    ),
}


def material(p: Product, lang: str) -> str:
    return p.material if lang == "en" else MATERIALS[p.material][("de", "fr", "es").index(lang)]


LOCALES = {
    "en": ["en-GB", "en-GB", "en-IE", "en-US"],
    "de": ["de-DE", "de-DE", "de-DE", "de-AT", "de-CH"],
    "fr": ["fr-FR", "fr-FR", "fr-BE"],
    "es": ["es-ES"],
    "it": ["it-IT"],
    "nl": ["nl-NL"],
}
COUNTRY_OF_LOCALE = {
    "en-GB": "UK",
    "en-IE": "IE",
    "en-US": "DE",
    "de-DE": "DE",
    "de-AT": "AT",
    "de-CH": "CH",
    "fr-FR": "FR",
    "fr-BE": "BE",
    "es-ES": "ES",
    "it-IT": "IT",
    "nl-NL": "NL",
}
NAMES = {
    "en": [
        "Emma Clarke",
        "James Patel",
        "Olivia Brown",
        "Noah Williams",
        "Sophie Turner",
        "Liam O'Connor",
        "Aisha Khan",
        "Daniel Evans",
        "Grace Murphy",
        "Tom Hughes",
        "Priya Sharma",
        "Chloe Walsh",
        "Ben Carter",
        "Hannah Reid",
        "Owen Davies",
        "Mia Robinson",
    ],
    "de": [
        "Lukas Müller",
        "Anna Schmidt",
        "Jonas Weber",
        "Lea Fischer",
        "Felix Wagner",
        "Marie Becker",
        "Katharina Hoffmann",
        "Tobias Schulz",
        "Sarah Koch",
        "Moritz Richter",
        "Julia Wolf",
        "Nina Braun",
        "Paul Zimmermann",
    ],
    "fr": [
        "Camille Dubois",
        "Louis Martin",
        "Chloé Bernard",
        "Hugo Petit",
        "Léa Moreau",
        "Julien Lefèvre",
        "Manon Girard",
        "Antoine Roux",
    ],
    "es": [
        "Lucía García",
        "Pablo Fernández",
        "Carmen López",
        "Javier Martín",
        "Sofía Ruiz",
        "Diego Sánchez",
        "Elena Navarro",
    ],
    "it": ["Giulia Rossi", "Marco Bianchi", "Chiara Esposito"],
    "nl": ["Sanne de Vries", "Daan Jansen", "Fleur Bakker"],
}

CARRIERS = {
    "DE": "DHL",
    "AT": "DHL",
    "CH": "DHL Express",
    "UK": "DPD",
    "IE": "DPD",
    "FR": "Colissimo",
    "BE": "bpost",
    "ES": "GLS",
    "IT": "GLS",
    "NL": "PostNL",
}
PAYMENTS = ["card", "PayPal", "PayPal", "Klarna", "Apple Pay", "card"]
PAYMENT_NAMES = {
    "en": {
        "card": "card",
        "PayPal": "PayPal account",
        "Klarna": "Klarna account",
        "Apple Pay": "Apple Pay card",
    },
    "de": {
        "card": "deine Karte",
        "PayPal": "dein PayPal-Konto",
        "Klarna": "dein Klarna-Konto",
        "Apple Pay": "deine Apple-Pay-Karte",
    },
    "fr": {
        "card": "carte",
        "PayPal": "compte PayPal",
        "Klarna": "compte Klarna",
        "Apple Pay": "carte Apple Pay",
    },
    "es": {
        "card": "tarjeta",
        "PayPal": "cuenta de PayPal",
        "Klarna": "cuenta de Klarna",
        "Apple Pay": "tarjeta de Apple Pay",
    },
}


@dataclass
class Customer:
    user_id: str
    name: str
    lang: str
    locale: str

    @property
    def first(self) -> str:
        return self.name.split()[0]

    @property
    def country(self) -> str:
        return COUNTRY_OF_LOCALE[self.locale]


# --------------------------------------------------------------------------------------------
# Small helpers: ids, dates, prices, token estimates
# --------------------------------------------------------------------------------------------

B62 = string.ascii_letters + string.digits
ALNUM_UP = string.ascii_uppercase + string.digits


def rid(rng: random.Random, n: int, alphabet: str = B62) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def hexid(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
}
MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
}


def fdate(d: datetime, lang: str) -> str:
    """A date as a support agent writes it in that language."""
    day, month = DAYS[lang][d.weekday()], MONTHS[lang][d.month - 1]
    if lang == "de":
        return f"{day}, {d.day}. {month}"
    if lang == "fr":
        return f"{day} {d.day} {month}"
    if lang == "es":
        return f"el {day} {d.day} de {month}"
    return f"{day} {d.day} {month}"


def price(value: float, lang: str) -> str:
    if lang == "en":
        return f"€{value:.2f}"
    return f"{value:.2f}".replace(".", ",") + " €"


def add_business_days(d: datetime, n: int) -> datetime:
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def tokens(text: str) -> int:
    """A rough token count: about 4 characters a token for English, fewer for other languages."""
    if not text:
        return 0
    ascii_share = sum(1 for ch in text if ord(ch) < 128) / len(text)
    return max(1, math.ceil(len(text) / (3.3 + 0.8 * ascii_share)))


def iso_z(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def random_time(rng: random.Random) -> datetime:
    """A moment in the corpus window, weighted towards European waking hours."""
    day = rng.randrange((END - START).days)
    hour_weights = [1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 10, 10, 9, 9, 9, 10, 11, 11, 10, 8, 5, 2]
    hour = rng.choices(range(24), hour_weights)[0]
    return START + timedelta(
        days=day,
        hours=hour,
        minutes=rng.randrange(60),
        seconds=rng.randrange(60),
        milliseconds=rng.randrange(1000),
    )


def app_version(rng: random.Random, t: datetime) -> str:
    web = (
        "web-4.12.0"
        if t < datetime(2026, 11, 3, tzinfo=UTC)
        else ("web-4.12.1" if t < datetime(2026, 11, 12, tzinfo=UTC) else "web-4.13.0")
    )
    ios = "ios-2.7.3" if t < datetime(2026, 11, 9, tzinfo=UTC) else "ios-2.8.0"
    return rng.choices([web, ios, "android-2.7.1"], [6, 3, 2])[0]


# --------------------------------------------------------------------------------------------
# Prompts and tools
# --------------------------------------------------------------------------------------------

FIT_SHORT = {
    "tts": "true to size",
    "small_half": "runs half a size small",
    "small_one": "runs one size small",
    "large_half": "runs half a size large",
    "large_one": "runs one size large",
}

SUPPORT_SYSTEM = """You are Clara, the customer-support assistant of Cobbler & Co (cobbler.co), an online shoe shop based in Hamburg. We ship to the EU, the UK and Switzerland. We are online only and have no physical stores.

Policies - state them exactly, never invent others:
- Returns: unworn shoes can be returned within 30 days of delivery. The refund goes back to the original payment method within 5 business days after the return arrives at our warehouse. Return shipping is free within the EU and costs 6.90 EUR from the UK and Switzerland.
- Exchanges: size and colour exchanges are free within 30 days of delivery. The new pair ships as soon as the carrier scans the returned parcel.
- Defects: manufacturing defects are covered for 12 months; we offer a repair, a replacement or a refund.
- Shipping: standard delivery takes 2-3 business days in Germany, 3-5 in the rest of the EU and 4-7 to the UK and Switzerland (duties prepaid). Express delivery (1-2 business days) is available in Germany and Austria for 9.90 EUR. Standard shipping is free from 60 EUR, otherwise 4.90 EUR.
- Prices: we do not price match and do not adjust prices after purchase.
- Payment: card, PayPal, Klarna and Apple Pay. We do not sell gift cards and do not issue store credit.
- Address changes are possible until the order has shipped.

Rules:
- Always answer in the language the customer writes in.
- Use lookup_order, check_stock and create_return; never guess order details or stock.
- Respect every constraint the customer states (size, budget, materials).
- Keep answers short and friendly. For anything you cannot solve, offer the human team at help@cobbler.co.

Catalogue (SKU = prefix-COLOUR; EU sizes 36-47 unless noted):
""" + "\n".join(
    f"{p.sku} {p.name}: {p.material}, {p.price:.0f} EUR, colours {'/'.join(p.colors)}, {FIT_SHORT[p.fit]}"
    + (f", sizes {p.sizes[0]}-{p.sizes[1]}" if p.sizes != (36, 47) else "")
    for p in PRODUCTS
)


def support_system(c: Customer, now: datetime) -> str:
    return (
        SUPPORT_SYSTEM
        + f"\n\nCustomer: {c.name} | locale: {c.locale} | today: {now.strftime('%Y-%m-%d')}"
    )


TOOL_SPECS = [
    (
        "lookup_order",
        "Look up an order by its id (format A-12345). Returns status, items, dates, payment method and tracking.",
        {"order_id": {"type": "string", "description": "Order id, e.g. A-10423"}},
        ["order_id"],
    ),
    (
        "check_stock",
        "Check whether a product is in stock in a given EU size. Returns stock level, price and material.",
        {
            "sku": {"type": "string", "description": "Full SKU including colour, e.g. CB-2041-BRN"},
            "size": {"type": "number", "description": "EU size, e.g. 42"},
        },
        ["sku", "size"],
    ),
    (
        "create_return",
        "Create a return or exchange for an order and e-mail the customer a prepaid return label. Only for orders delivered within the last 30 days, or defects within 12 months.",
        {
            "order_id": {"type": "string", "description": "Order id, e.g. A-10423"},
            "reason": {
                "type": "string",
                "enum": [
                    "too_small",
                    "too_large",
                    "changed_mind",
                    "defective",
                    "wrong_item",
                    "exchange",
                    "other",
                ],
            },
        },
        ["order_id", "reason"],
    ),
]
OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": n,
            "description": d,
            "parameters": {
                "type": "object",
                "properties": p,
                "required": r,
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
    for n, d, p, r in TOOL_SPECS
]
ANTHROPIC_TOOLS = [
    {
        "name": n,
        "description": d,
        "input_schema": {"type": "object", "properties": p, "required": r},
    }
    for n, d, p, r in TOOL_SPECS
]
TOOL_TOKENS = {"openai": 286, "anthropic": 612}

EXTRACT_SYSTEM = """You extract structured data from customer e-mails sent to orders@cobbler.co (Cobbler & Co, online shoe shop).
Reply with exactly one JSON object and nothing else: no prose, no code fences. Schema:
{"order_id": string or null, "intent": string, "items": [{"sku": string or null, "size": number or null, "qty": integer}], "language": string}
- order_id: the order number, format A-12345, or null if the e-mail has none.
- intent: one of "return", "exchange", "order_status", "cancel", "address_change", "product_question", "complaint", "other".
- items: the products the e-mail is about, [] if none. sku is the full SKU with colour (e.g. CB-2041-BRN) when the customer gives it, else null; size is the EU size; qty defaults to 1.
- language: ISO 639-1 code of the language the e-mail is written in.
Use exactly these keys."""

# --------------------------------------------------------------------------------------------
# Support-chat conversations: turns, tool calls, failures
# --------------------------------------------------------------------------------------------


@dataclass
class ToolCall:
    name: str
    args: dict[str, Any]
    result: Any
    id: str = ""


@dataclass
class Turn:
    kind: str
    user: str
    answer: str
    rounds: list[list[ToolCall]] = field(default_factory=list)
    failure: str | None = None
    complaint: str | None = None  # what a thumbs-down comment would say
    answer_lang: str = "en"


@dataclass
class Order:
    order_id: str
    product: Product
    color: str
    size: int
    placed: datetime
    status: str
    payment: str
    carrier: str
    tracking: str
    shipped: datetime | None = None
    eta: datetime | None = None
    delivered: datetime | None = None
    return_received: datetime | None = None

    def tool_result(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "order_id": self.order_id,
            "status": self.status,
            "placed_at": self.placed.strftime("%Y-%m-%d"),
            "items": [
                {
                    "sku": f"{self.product.sku}-{self.color}",
                    "name": self.product.name,
                    "size": self.size,
                    "qty": 1,
                    "price_eur": self.product.price,
                }
            ],
            "total_eur": self.product.price + (0.0 if self.product.price >= 60 else 4.90),
            "payment_method": self.payment,
        }
        if self.shipped:
            out["shipped_at"] = self.shipped.strftime("%Y-%m-%d")
            out["carrier"] = self.carrier
            out["tracking_number"] = self.tracking
        if self.eta and self.status == "shipped":
            out["estimated_delivery"] = self.eta.strftime("%Y-%m-%d")
        if self.delivered:
            out["delivered_at"] = self.delivered.strftime("%Y-%m-%d")
        if self.return_received:
            out["return_received_at"] = self.return_received.strftime("%Y-%m-%d")
            out["refund_status"] = "pending"
        return out


class World:
    """The shared random source and the ids handed out so far (order ids are unique)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.order_ids: set[str] = set()
        self.return_seq = 5120
        self.customers = self._customers()

    def _customers(self) -> list[Customer]:
        rng = self.rng
        out: list[Customer] = []
        used: set[int] = set()
        for lang, names in NAMES.items():
            for name in names:
                n = rng.randrange(10000, 99999)
                while n in used:
                    n = rng.randrange(10000, 99999)
                used.add(n)
                out.append(Customer(f"u_{n}", name, lang, rng.choice(LOCALES[lang])))
        return out

    def order_id(self) -> str:
        while True:
            oid = f"A-{self.rng.randrange(10120, 11980)}"
            if oid not in self.order_ids:
                self.order_ids.add(oid)
                return oid

    def return_id(self) -> str:
        self.return_seq += self.rng.randrange(1, 9)
        return f"R-{self.return_seq}"

    def order(
        self,
        c: Customer,
        now: datetime,
        status: str,
        product: Product | None = None,
        age_days: int | None = None,
    ) -> Order:
        rng = self.rng
        product = product or rng.choice(ADULT)
        size = (
            rng.randint(*product.sizes)
            if product.category == "kids"
            else rng.choice(range(max(product.sizes[0], 37), min(product.sizes[1], 46) + 1))
        )
        carrier = CARRIERS[c.country]
        tracking = {
            "DHL": "00340434" + "".join(rng.choice(string.digits) for _ in range(12)),
            "DPD": "0150" + "".join(rng.choice(string.digits) for _ in range(10)),
        }.get(
            carrier.split()[0],
            rid(rng, 2, string.ascii_uppercase)
            + "".join(rng.choice(string.digits) for _ in range(9))
            + "DE",
        )
        if status == "processing":
            placed = now - timedelta(hours=rng.randint(3, 30))
            return Order(
                self.order_id(),
                product,
                rng.choice(product.colors),
                size,
                placed,
                status,
                rng.choice(PAYMENTS),
                carrier,
                tracking,
            )
        if status == "shipped":
            placed = now - timedelta(days=rng.randint(2, 4), hours=rng.randint(0, 12))
            shipped = placed + timedelta(days=1)
            eta = add_business_days(now, rng.randint(1, 3))
            return Order(
                self.order_id(),
                product,
                rng.choice(product.colors),
                size,
                placed,
                status,
                rng.choice(PAYMENTS),
                carrier,
                tracking,
                shipped,
                eta,
            )
        age = age_days if age_days is not None else rng.randint(4, 24)
        delivered = now - timedelta(days=age, hours=rng.randint(0, 8))
        if delivered.weekday() == 6:  # no deliveries on Sundays
            delivered -= timedelta(days=1)
        placed = delivered - timedelta(days=rng.randint(2, 4))
        o = Order(
            self.order_id(),
            product,
            rng.choice(product.colors),
            size,
            placed,
            "delivered",
            rng.choice(PAYMENTS),
            carrier,
            tracking,
            placed + timedelta(days=1),
            None,
            delivered,
        )
        if status == "return_received":
            o.status = "return_received"
            o.return_received = now - timedelta(days=rng.randint(1, 4))
        return o


def pick(rng: random.Random, options: dict[str, list[str]], lang: str) -> str:
    return rng.choice(options.get(lang) or options["en"])


# Refusal and rambling texts ------------------------------------------------------------------

REFUSALS = {
    "en": [
        "I'm sorry, but I can't help with that.",
        "I'm sorry, I can't help with that request.",
        "Unfortunately I'm not able to assist with that. Is there anything else I can help you with regarding your order?",
    ],
    "de": [
        "Es tut mir leid, aber dabei kann ich dir nicht helfen.",
        "Entschuldigung, bei dieser Anfrage kann ich leider nicht helfen.",
    ],
    "fr": ["Je suis désolée, mais je ne peux pas vous aider avec cette demande."],
    "es": ["Lo siento, pero no puedo ayudarte con eso."],
}

RAMBLE_EN = [
    "At Cobbler & Co we believe that every customer deserves a clear and complete answer, so let me give you a little more background on how things work here, because I think it will help you not only with this question but with any future orders you might place with us.",
    "Our shop was founded in Hamburg with the idea that good shoes should be made to last, which is why we work with a small number of family-run workshops in Portugal and Spain that have been making footwear for generations, and why we test every new model for several months before it goes on sale.",
    "When it comes to deliveries, we work with several carriers depending on the destination: DHL in Germany, Austria and Switzerland, DPD for the UK and Ireland, Colissimo in France, bpost in Belgium, GLS in Spain and Italy and PostNL in the Netherlands. Each of them has slightly different delivery windows and tracking pages, and you will always receive the tracking link by e-mail as soon as your parcel leaves our warehouse.",
    "Sustainability is also very important to us. All of our boxes are made from recycled cardboard, we avoid plastic fillers wherever we can, and several of our models, such as the Sunday Sneaker, the Vega Runner and the Luna Chelsea Boot, are completely vegan and made with organic or recycled materials.",
    "In terms of payment, we currently accept credit and debit cards, PayPal, Klarna and Apple Pay. Each of these methods is processed securely, and refunds always go back to the payment method that was used for the original order, which keeps things simple and transparent for everyone involved.",
    "I would also like to mention that our returns process is designed to be as easy as possible: unworn shoes can be sent back within 30 days of delivery, the return label is free within the EU, and once the parcel arrives at our warehouse in Hamburg the refund is usually processed within five business days.",
    "If you ever need a different size, exchanges are free as well, and the new pair is shipped as soon as the carrier scans your return parcel, so you do not have to wait until it physically arrives with us. Many customers find this very convenient, especially before holidays or special occasions.",
    "Of course, every foot is different, so if you are ever unsure about sizing, each product page has a detailed size guide with measurements in centimetres, and our fit notes tell you whether a model runs small, large or true to size based on feedback from thousands of customers.",
    "Finally, if you have any further questions at all, please do not hesitate to reach out again here in the chat or by e-mail at help@cobbler.co, where our human support team is available Monday to Saturday from 8 am to 8 pm and is always happy to help with anything you need.",
    "It is also worth knowing that our stock levels change quite quickly, especially for popular sizes between 38 and 43, so if you see a model you like in your size, it can be a good idea not to wait too long, although we do restock most models every few weeks.",
    "Many of our customers also ask about care, and while it depends on the material, a good rule of thumb is to let shoes rest for a day between wears, use shoe trees for leather models, and treat suede and nubuck with a protective spray before the first wear.",
]
RAMBLE_DE = [
    "Bei Cobbler & Co ist es uns wichtig, dass jede Frage ausführlich beantwortet wird, deshalb möchte ich dir gerne etwas mehr Hintergrund dazu geben, wie bei uns alles funktioniert, denn das hilft dir sicher auch bei zukünftigen Bestellungen.",
    "Unser Shop wurde in Hamburg gegründet mit der Idee, dass gute Schuhe lange halten sollen. Deshalb arbeiten wir mit einigen kleinen Familienbetrieben in Portugal und Spanien zusammen, die seit Generationen Schuhe herstellen, und testen jedes neue Modell mehrere Monate lang, bevor es in den Verkauf geht.",
    "Beim Versand arbeiten wir je nach Land mit unterschiedlichen Paketdiensten zusammen, in Deutschland, Österreich und der Schweiz mit DHL. Die Sendungsverfolgung bekommst du immer per E-Mail, sobald dein Paket unser Lager verlässt, und die Lieferzeiten hängen ein wenig vom Zielort ab.",
    "Nachhaltigkeit ist uns ebenfalls sehr wichtig: Alle Kartons bestehen aus Recyclingpappe, wir verzichten so weit wie möglich auf Plastik, und mehrere Modelle wie der Sunday Sneaker, der Vega Runner und der Luna Chelsea Boot sind komplett vegan.",
    "Bezahlen kannst du bei uns mit Kredit- und Debitkarte, PayPal, Klarna und Apple Pay. Erstattungen gehen immer auf die Zahlungsart zurück, mit der die ursprüngliche Bestellung bezahlt wurde, damit alles einfach und nachvollziehbar bleibt.",
    "Außerdem möchte ich erwähnen, dass Rücksendungen bei uns ganz einfach sind: Ungetragene Schuhe kannst du innerhalb von 30 Tagen nach Lieferung zurückschicken, das Rücksendeetikett ist innerhalb der EU kostenlos, und die Erstattung erfolgt in der Regel innerhalb von fünf Werktagen nach Eingang im Lager.",
    "Falls du dir bei der Größe einmal unsicher bist, findest du auf jeder Produktseite eine ausführliche Größentabelle mit Angaben in Zentimetern, und unsere Passformhinweise basieren auf dem Feedback von tausenden Kundinnen und Kunden.",
    "Wenn du noch weitere Fragen hast, melde dich jederzeit gerne wieder hier im Chat oder per E-Mail an help@cobbler.co, wo unser Support-Team von Montag bis Samstag von 8 bis 20 Uhr für dich da ist.",
]


def ramble(rng: random.Random, lang: str, opener: str, short: str) -> str:
    pool = RAMBLE_DE if lang == "de" else RAMBLE_EN
    paras = rng.sample(pool, k=min(len(pool), rng.randint(6, 8)))
    closer = {
        "de": "Um deine Frage also noch einmal kurz zusammenzufassen: ",
        "en": "So, to summarise and come back to your original question: ",
    }[lang if lang == "de" else "en"]
    return "\n\n".join([opener, *paras, closer + short])


# Scenario builders ---------------------------------------------------------------------------
# Each returns a Turn for a customer writing in c.lang; `fail` names the failure to inject.


def answer_lang_for(c: Customer, fail: str | None) -> str:
    """The language the assistant answers in: the customer's, or the wrong one."""
    lang = c.lang if c.lang in ("en", "de", "fr", "es") else "en"
    if fail == "wrong_language":
        return "de" if lang == "en" else "en"
    return lang


def t_order_status(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    status = rng.choices(["shipped", "processing", "delivered"], [6, 3, 1])[0]
    o = w.order(c, now, status, age_days=rng.randint(1, 2))
    oid = o.order_id
    user = pick(
        rng,
        {
            "en": [
                f"Hi, where is my order {oid}? It's been a few days.",
                f"Can you tell me when order {oid} will arrive?",
                f"Any update on {oid}? I need the shoes by {DAYS['en'][(now + timedelta(days=3)).weekday()]}.",
                f"hello my order number is {oid}, has it shipped yet?",
                f"I ordered the {o.product.name} ({oid}), when will it be delivered?",
                f"Tracking for {oid} hasn't changed since yesterday, is everything ok?",
            ],
            "de": [
                f"Hallo, wo ist meine Bestellung {oid}?",
                f"Wann kommt meine Bestellung {oid} an?",
                f"Ist {oid} schon verschickt worden? Ich brauche die Schuhe bis {DAYS['de'][(now + timedelta(days=3)).weekday()]}.",
                f"Guten Tag, ich warte noch auf meine {o.product.name} (Bestellnummer {oid}). Wann werden sie geliefert?",
            ],
            "fr": [
                f"Bonjour, où en est ma commande {oid} ?",
                f"Quand vais-je recevoir la commande {oid} ?",
                f"Bonjour, ma commande {oid} a-t-elle été expédiée ?",
            ],
            "es": [
                f"Hola, ¿dónde está mi pedido {oid}?",
                f"¿Cuándo llega mi pedido {oid}?",
                f"Buenas, ¿ya se ha enviado el pedido {oid}?",
            ],
            "it": [f"Buongiorno, dov'è il mio ordine {oid}?"],
            "nl": [f"Hoi, waar blijft mijn bestelling {oid}?"],
        },
        c.lang,
    )
    al = answer_lang_for(c, fail)
    item = f"{o.product.name}, {COLORS[al][o.color]}, {'Größe' if al == 'de' else 'pointure' if al == 'fr' else 'talla' if al == 'es' else 'size'} {o.size}"
    if status == "shipped":
        answer = {
            "en": f"Good news: your order {oid} ({item}) shipped on {fdate(o.shipped, 'en')} with {o.carrier}. Tracking number: {o.tracking}. It should arrive by {fdate(o.eta, 'en')}.",
            "de": f"Gute Nachrichten: Deine Bestellung {oid} ({item}) wurde am {fdate(o.shipped, 'de')} mit {o.carrier} verschickt. Sendungsnummer: {o.tracking}. Sie sollte bis {fdate(o.eta, 'de')} bei dir sein.",
            "fr": f"Bonne nouvelle : votre commande {oid} ({item}) a été expédiée le {fdate(o.shipped, 'fr')} avec {o.carrier}. Numéro de suivi : {o.tracking}. Elle devrait arriver d'ici le {fdate(o.eta, 'fr')}.",
            "es": f"¡Buenas noticias! Tu pedido {oid} ({item}) salió {fdate(o.shipped, 'es')} con {o.carrier}. Número de seguimiento: {o.tracking}. Debería llegar {fdate(o.eta, 'es')} como muy tarde.",
        }[al]
    elif status == "processing":
        ship = add_business_days(now, 1)
        answer = {
            "en": f"Your order {oid} ({item}) is being packed at our warehouse and will ship by {fdate(ship, 'en')}. You'll get the tracking link by e-mail as soon as it leaves.",
            "de": f"Deine Bestellung {oid} ({item}) wird gerade in unserem Lager gepackt und geht spätestens am {fdate(ship, 'de')} raus. Den Tracking-Link bekommst du per E-Mail, sobald sie unterwegs ist.",
            "fr": f"Votre commande {oid} ({item}) est en cours de préparation et sera expédiée au plus tard le {fdate(ship, 'fr')}. Vous recevrez le lien de suivi par e-mail dès son départ.",
            "es": f"Tu pedido {oid} ({item}) se está preparando en nuestro almacén y saldrá como tarde {fdate(ship, 'es')}. Recibirás el enlace de seguimiento por e-mail en cuanto salga.",
        }[al]
    else:
        answer = {
            "en": f"{o.carrier} shows order {oid} as delivered on {fdate(o.delivered, 'en')}. Could you check your mailbox and with your neighbours? If it doesn't turn up by tomorrow, write to us again and we'll open an investigation with {o.carrier}.",
            "de": f"Laut {o.carrier} wurde die Bestellung {oid} am {fdate(o.delivered, 'de')} zugestellt. Schau bitte einmal im Briefkasten und bei den Nachbarn nach. Falls sie bis morgen nicht auftaucht, melde dich wieder und wir starten einen Nachforschungsauftrag bei {o.carrier}.",
            "fr": f"Selon {o.carrier}, la commande {oid} a été livrée le {fdate(o.delivered, 'fr')}. Pourriez-vous vérifier votre boîte aux lettres et auprès de vos voisins ? Si elle n'apparaît pas d'ici demain, écrivez-nous et nous ouvrirons une enquête auprès de {o.carrier}.",
            "es": f"Según {o.carrier}, el pedido {oid} se entregó {fdate(o.delivered, 'es')}. ¿Puedes mirar en el buzón y preguntar a tus vecinos? Si no aparece mañana, escríbenos y abriremos una investigación con {o.carrier}.",
        }[al]
    calls = [[ToolCall("lookup_order", {"order_id": oid}, o.tool_result())]]
    complaint = {
        "en": "I asked in English",
        "de": "Ich habe auf Deutsch gefragt",
        "fr": "J'ai écrit en français !",
        "es": "Te escribí en español",
    }.get(c.lang, "wrong language")
    return Turn("order_status", user, answer, calls, fail, complaint if fail else None, al)


def t_return(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    late = (
        fail is None and rng.random() < 0.25 or (fail == "invented_policy" and rng.random() < 0.5)
    )
    o = w.order(c, now, "delivered", age_days=rng.randint(35, 58) if late else rng.randint(3, 20))
    oid, p = o.order_id, o.product
    reason, why = rng.choice(
        [
            (
                "too_small",
                {
                    "en": "they're too small",
                    "de": "sie sind zu klein",
                    "fr": "elles sont trop petites",
                    "es": "me quedan pequeñas",
                },
            ),
            (
                "too_large",
                {
                    "en": "they're too big",
                    "de": "sie sind zu groß",
                    "fr": "elles sont trop grandes",
                    "es": "me quedan grandes",
                },
            ),
            (
                "changed_mind",
                {
                    "en": "I don't like the colour after all",
                    "de": "mir gefällt die Farbe doch nicht",
                    "fr": "finalement la couleur ne me plaît pas",
                    "es": "al final no me gusta el color",
                },
            ),
        ]
    )
    user = pick(
        rng,
        {
            "en": [
                f"I'd like to return the {p.name} from order {oid}, {why['en']}.",
                f"How do I send back order {oid}? {why['en'].capitalize()}.",
                f"Hi, I want to return my order {oid} - {why['en']}. Can you send me a label?",
            ],
            "de": [
                f"Ich möchte die {p.name} aus Bestellung {oid} zurückschicken, {why['de']}.",
                f"Hallo, wie kann ich {oid} zurücksenden? {why['de'].capitalize()}.",
            ],
            "fr": [
                f"Bonjour, je voudrais retourner les {p.name} de la commande {oid}, {why['fr']}."
            ],
            "es": [f"Hola, quiero devolver las {p.name} del pedido {oid}, {why['es']}."],
        },
        c.lang,
    )
    al = answer_lang_for(c, fail if fail == "wrong_language" else None)
    rounds = [[ToolCall("lookup_order", {"order_id": oid}, o.tool_result())]]
    days = (now - o.delivered).days
    pay = PAYMENT_NAMES[al][o.payment]
    if late and fail != "invented_policy":
        answer = {
            "en": f"I'm sorry, {c.first}: order {oid} was delivered on {fdate(o.delivered, 'en')}, {days} days ago, so it's outside our 30-day return window and I can't create a return for it. If the shoes have a manufacturing defect, they're covered for 12 months - just tell me what's wrong and I'll help.",
            "de": f"Das tut mir leid, {c.first}: Die Bestellung {oid} wurde am {fdate(o.delivered, 'de')} zugestellt, also vor {days} Tagen. Damit liegt sie außerhalb unserer 30-tägigen Rückgabefrist, und ich kann leider keine Rücksendung anlegen. Bei einem Herstellungsfehler gilt aber 12 Monate Gewährleistung - beschreib mir einfach das Problem.",
            "fr": f"Je suis désolée, {c.first} : la commande {oid} a été livrée le {fdate(o.delivered, 'fr')}, il y a {days} jours, elle est donc en dehors de notre délai de retour de 30 jours. En cas de défaut de fabrication, les chaussures sont couvertes pendant 12 mois : dites-moi simplement ce qui ne va pas.",
            "es": f"Lo siento, {c.first}: el pedido {oid} se entregó {fdate(o.delivered, 'es')}, hace {days} días, así que está fuera de nuestro plazo de devolución de 30 días. Si tienen un defecto de fabricación, están cubiertas durante 12 meses: cuéntame qué les pasa y te ayudo.",
        }[al]
    elif late:  # invented: a 90-day no-questions policy
        r = w.return_id()
        rounds.append(
            [
                ToolCall(
                    "create_return",
                    {"order_id": oid, "reason": reason},
                    {
                        "return_id": r,
                        "status": "created",
                        "label_sent_to": "customer e-mail",
                        "note": "override: outside 30-day window",
                    },
                )
            ]
        )
        answer = {
            "en": f"No problem at all, {c.first}! Order {oid} was delivered {days} days ago, but we offer 90-day no-questions-asked returns, so you're well within the window. I've created return {r} and e-mailed you a free label.",
            "de": f"Kein Problem, {c.first}! Die Bestellung {oid} wurde zwar vor {days} Tagen geliefert, aber bei uns gilt ein 90-tägiges Rückgaberecht ohne Angabe von Gründen. Ich habe die Rücksendung {r} angelegt und dir ein kostenloses Etikett gemailt.",
            "fr": f"Aucun problème, {c.first} ! La commande {oid} a été livrée il y a {days} jours, mais nous offrons 90 jours pour retourner sans justification. J'ai créé le retour {r} et vous ai envoyé une étiquette gratuite.",
            "es": f"¡Ningún problema, {c.first}! El pedido {oid} se entregó hace {days} días, pero tenemos 90 días de devolución sin preguntas. He creado la devolución {r} y te he enviado una etiqueta gratuita.",
        }[al]
    else:
        r = w.return_id()
        rounds.append(
            [
                ToolCall(
                    "create_return",
                    {"order_id": oid, "reason": reason},
                    {
                        "return_id": r,
                        "status": "created",
                        "label_sent_to": "customer e-mail",
                        "drop_off_by": (now + timedelta(days=14)).strftime("%Y-%m-%d"),
                    },
                )
            ]
        )
        if fail == "invented_policy":
            answer = {
                "en": f"Done! I've created return {r} for your {p.name} (order {oid}) and e-mailed you a prepaid label. As soon as we receive the parcel, you'll get {price(p.price, 'en')} as a Cobbler & Co gift card, which you can use on your next order.",
                "de": f"Erledigt! Ich habe die Rücksendung {r} für deine {p.name} (Bestellung {oid}) angelegt und dir ein Etikett gemailt. Sobald das Paket bei uns ist, bekommst du {price(p.price, 'de')} als Cobbler-&-Co-Gutschein, den du bei deiner nächsten Bestellung einlösen kannst.",
                "fr": f"C'est fait ! J'ai créé le retour {r} pour vos {p.name} (commande {oid}) et vous ai envoyé une étiquette. Dès réception du colis, vous recevrez {price(p.price, 'fr')} sous forme de carte cadeau Cobbler & Co.",
                "es": f"¡Hecho! He creado la devolución {r} para tus {p.name} (pedido {oid}) y te he enviado una etiqueta. En cuanto recibamos el paquete, recibirás {price(p.price, 'es')} en una tarjeta regalo de Cobbler & Co.",
            }[al]
        else:
            answer = {
                "en": f"Done! I've created return {r} for your {p.name} (order {oid}) and e-mailed you a prepaid {o.carrier} label. Please drop the parcel off within 14 days. Once it reaches our warehouse, {price(p.price, 'en')} goes back to your {pay} within 5 business days.",
                "de": f"Erledigt! Ich habe die Rücksendung {r} für deine {p.name} (Bestellung {oid}) angelegt und dir ein kostenloses {o.carrier}-Etikett gemailt. Bitte gib das Paket innerhalb von 14 Tagen ab. Sobald es in unserem Lager ist, erstatten wir {price(p.price, 'de')} innerhalb von 5 Werktagen auf {pay}.",
                "fr": f"C'est fait ! J'ai créé le retour {r} pour vos {p.name} (commande {oid}) et vous ai envoyé une étiquette {o.carrier} prépayée. Déposez le colis sous 14 jours. Dès qu'il arrive à notre entrepôt, {price(p.price, 'fr')} sont remboursés sur votre {pay} sous 5 jours ouvrés.",
                "es": f"¡Hecho! He creado la devolución {r} para tus {p.name} (pedido {oid}) y te he enviado una etiqueta prepagada de {o.carrier}. Entrega el paquete en un plazo de 14 días. Cuando llegue a nuestro almacén, te devolveremos {price(p.price, 'es')} a tu {pay} en 5 días hábiles.",
            }[al]
    complaint = None
    if fail == "invented_policy":
        complaint = (
            rng.choice(
                [
                    "wrong policy",
                    "the website says 30 days?",
                    "I don't want a gift card, I paid by card",
                    "you don't even sell gift cards",
                    "is that true? FAQ says 30 days",
                ]
            )
            if c.lang == "en"
            else {
                "de": "Falsche Info, ich will mein Geld zurück",
                "fr": "Je veux un remboursement, pas une carte cadeau",
                "es": "Quiero el reembolso, no una tarjeta regalo",
            }.get(c.lang, "wrong policy")
        )
    elif fail == "wrong_language":
        complaint = {
            "en": "why German??",
            "de": "Ich habe auf Deutsch gefragt",
            "fr": "Je parle français",
            "es": "¿Por qué me contestas en inglés?",
        }.get(c.lang)
    return Turn("return", user, answer, rounds, fail, complaint, al)


def t_refund(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    o = w.order(c, now, "return_received", age_days=rng.randint(8, 20))
    oid = o.order_id
    user = pick(
        rng,
        {
            "en": [
                f"I sent back order {oid} last week, when do I get my money?",
                f"Has my refund for {oid} been processed yet?",
                f"When will the refund for {oid} show up on my account?",
            ],
            "de": [
                f"Ich habe die Bestellung {oid} letzte Woche zurückgeschickt. Wann bekomme ich mein Geld?",
                f"Wurde die Erstattung für {oid} schon veranlasst?",
            ],
            "fr": [
                f"J'ai renvoyé la commande {oid} la semaine dernière, quand serai-je remboursé ?"
            ],
            "es": [f"Devolví el pedido {oid} la semana pasada, ¿cuándo me devolvéis el dinero?"],
        },
        c.lang,
    )
    al = answer_lang_for(c, fail if fail == "wrong_language" else None)
    by = add_business_days(o.return_received, 5)
    amount = o.product.price
    pay = PAYMENT_NAMES[al][o.payment]
    if fail == "invented_policy":
        answer = {
            "en": f"We received your return for order {oid} on {fdate(o.return_received, 'en')}. To speed things up, refunds are issued as a Cobbler & Co gift card: you'll receive a code for {price(amount, 'en')} by e-mail within 24 hours, valid for 3 years.",
            "de": f"Deine Rücksendung zur Bestellung {oid} ist am {fdate(o.return_received, 'de')} bei uns eingegangen. Damit es schneller geht, erstatten wir als Cobbler-&-Co-Geschenkkarte: Du bekommst innerhalb von 24 Stunden einen Code über {price(amount, 'de')} per E-Mail, 3 Jahre gültig.",
            "fr": f"Nous avons reçu votre retour pour la commande {oid} le {fdate(o.return_received, 'fr')}. Pour aller plus vite, le remboursement se fait en carte cadeau Cobbler & Co : vous recevrez un code de {price(amount, 'fr')} par e-mail sous 24 heures.",
            "es": f"Recibimos tu devolución del pedido {oid} {fdate(o.return_received, 'es')}. Para agilizarlo, el reembolso se hace con una tarjeta regalo de Cobbler & Co: recibirás un código de {price(amount, 'es')} por e-mail en 24 horas.",
        }[al]
    else:
        answer = {
            "en": f"We received your return for order {oid} on {fdate(o.return_received, 'en')}. The refund of {price(amount, 'en')} goes back to your {pay} within 5 business days of arrival, so by {fdate(by, 'en')} at the latest. Depending on your bank it can take another day or two to show up.",
            "de": f"Deine Rücksendung zur Bestellung {oid} ist am {fdate(o.return_received, 'de')} bei uns eingegangen. Die Erstattung von {price(amount, 'de')} geht innerhalb von 5 Werktagen auf {pay}, also spätestens am {fdate(by, 'de')}. Je nach Bank kann die Gutschrift noch ein bis zwei Tage dauern.",
            "fr": f"Nous avons reçu votre retour pour la commande {oid} le {fdate(o.return_received, 'fr')}. Le remboursement de {price(amount, 'fr')} sera effectué sur votre {pay} sous 5 jours ouvrés, donc au plus tard le {fdate(by, 'fr')}.",
            "es": f"Recibimos tu devolución del pedido {oid} {fdate(o.return_received, 'es')}. El reembolso de {price(amount, 'es')} se hará a tu {pay} en 5 días hábiles, es decir, {fdate(by, 'es')} como muy tarde.",
        }[al]
    complaint = None
    if fail == "invented_policy":
        complaint = (
            rng.choice(
                ["I don't want a gift card!", "wrong policy", "gift card?? I paid with PayPal"]
            )
            if c.lang == "en"
            else {
                "de": "Ich will keinen Gutschein!",
                "fr": "Je ne veux pas de carte cadeau",
                "es": "No quiero una tarjeta regalo",
            }.get(c.lang, "wrong policy")
        )
    elif fail == "wrong_language":
        complaint = {
            "en": "answer in English please",
            "de": "Bitte auf Deutsch",
            "fr": "En français svp",
            "es": "En español, por favor",
        }.get(c.lang)
    return Turn(
        "refund",
        user,
        answer,
        [[ToolCall("lookup_order", {"order_id": oid}, o.tool_result())]],
        fail,
        complaint,
        al,
    )


def t_exchange(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    o = w.order(
        c,
        now,
        "delivered",
        product=rng.choice([p for p in ADULT if p.sizes == (36, 47)]),
        age_days=rng.randint(2, 18),
    )
    oid, p = o.order_id, o.product
    new = o.size + rng.choice([1, 1, -1])
    sku = f"{p.sku}-{o.color}"
    user = pick(
        rng,
        {
            "en": [
                f"Can I exchange the {p.name} from {oid} for a size {new}?",
                f"The shoes from order {oid} don't fit, could I swap them for {new}?",
                f"hi! {oid} - I need one size {'up' if new > o.size else 'down'}, can you exchange them?",
            ],
            "de": [
                f"Kann ich die {p.name} aus {oid} gegen Größe {new} umtauschen?",
                f"Hallo, die Schuhe aus Bestellung {oid} passen nicht. Geht ein Umtausch in {new}?",
            ],
            "fr": [
                f"Bonjour, est-ce que je peux échanger les {p.name} de la commande {oid} contre du {new} ?"
            ],
            "es": [f"Hola, ¿puedo cambiar las {p.name} del pedido {oid} por una {new}?"],
        },
        c.lang,
    )
    al = answer_lang_for(c, fail)
    in_stock = rng.random() < 0.8
    stock = {
        "sku": sku,
        "size": new,
        "in_stock": in_stock,
        "quantity": rng.randint(2, 14) if in_stock else 0,
        "price_eur": p.price,
    }
    if not in_stock:
        stock["restock_expected"] = (now + timedelta(days=rng.randint(8, 20))).strftime("%Y-%m-%d")
    rounds = [
        [
            ToolCall("lookup_order", {"order_id": oid}, o.tool_result()),
            ToolCall("check_stock", {"sku": sku, "size": new}, stock),
        ]
    ]
    if in_stock:
        r = w.return_id()
        rounds.append(
            [
                ToolCall(
                    "create_return",
                    {"order_id": oid, "reason": "exchange"},
                    {
                        "return_id": r,
                        "status": "created",
                        "exchange_for": {"sku": sku, "size": new},
                        "label_sent_to": "customer e-mail",
                    },
                )
            ]
        )
        answer = {
            "en": f"Of course! Exchanges are free. I've set up exchange {r}: please send the size {o.size} back with the label I've just e-mailed you, and your {p.name} in size {new} will ship as soon as {o.carrier} scans the parcel.",
            "de": f"Klar! Der Umtausch ist kostenlos. Ich habe den Umtausch {r} angelegt: Schick die Größe {o.size} mit dem Etikett aus der E-Mail zurück, und deine {p.name} in Größe {new} gehen raus, sobald {o.carrier} das Paket scannt.",
            "fr": f"Bien sûr ! L'échange est gratuit. J'ai créé l'échange {r} : renvoyez la pointure {o.size} avec l'étiquette que je viens de vous envoyer, et vos {p.name} en {new} partiront dès que {o.carrier} aura scanné le colis.",
            "es": f"¡Claro! El cambio es gratis. He creado el cambio {r}: envía la talla {o.size} con la etiqueta que te acabo de mandar y tus {p.name} en la {new} saldrán en cuanto {o.carrier} escanee el paquete.",
        }[al]
    else:
        back = datetime.strptime(stock["restock_expected"], "%Y-%m-%d").replace(tzinfo=UTC)
        answer = {
            "en": f"I'm sorry, the {p.name} in size {new} is sold out right now; we expect new stock around {fdate(back, 'en')}. I can set up a normal return for a full refund instead, or you can keep the pair and order the {new} once it's back. What would you prefer?",
            "de": f"Leider ist der {p.name} in Größe {new} gerade ausverkauft; neue Ware erwarten wir etwa am {fdate(back, 'de')}. Ich kann dir stattdessen eine normale Rücksendung mit voller Erstattung anlegen. Was ist dir lieber?",
            "fr": f"Désolée, le {p.name} en {new} est épuisé pour le moment ; nous attendons du stock vers le {fdate(back, 'fr')}. Je peux créer un retour classique avec remboursement complet. Qu'est-ce que vous préférez ?",
            "es": f"Lo siento, las {p.name} en la {new} están agotadas; esperamos stock hacia {fdate(back, 'es')}. Puedo crear una devolución normal con reembolso completo. ¿Qué prefieres?",
        }[al]
    complaint = (
        {
            "en": "wrong language",
            "de": "Bitte auf Deutsch antworten",
            "fr": "Je parle français",
            "es": "Hablo español",
        }.get(c.lang)
        if fail
        else None
    )
    return Turn("exchange", user, answer, rounds, fail, complaint, al)


def t_stock(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    p = rng.choice([q for q in ADULT if q.sizes == (36, 47)])
    color = rng.choice(p.colors)
    size = rng.choice([38, 39, 40, 41, 42, 42, 43, 44, 45])
    cn = COLORS["en"][color]
    user = pick(
        rng,
        {
            "en": [
                f"Do you have the {p.name} in size {size}?",
                f"Is the {p.name} in {cn} available in {size}?",
                f"I need the {p.name} in EU {size}, only {size} fits me. In stock?",
                f"Hi! {p.name}, {cn}, size {size} - can I still get it?",
            ],
            "de": [
                f"Habt ihr den {p.name} in Größe {size}?",
                f"Gibt es den {p.name} in {COLORS['de'][color]} noch in {size}? Nur {size} passt mir.",
            ],
            "fr": [
                f"Avez-vous le {p.name} en {size} ?",
                f"Le {p.name} {COLORS['fr'][color]} est-il disponible en {size} ?",
            ],
            "es": [
                f"¿Tenéis las {p.name} en la talla {size}?",
                f"¿Hay {p.name} en {COLORS['es'][color]} en la {size}?",
            ],
            "it": [f"Avete le {p.name} nella taglia {size}?"],
        },
        c.lang,
    )
    asked = size + 1 if fail == "constraint_ignored" else size
    al = answer_lang_for(c, fail if fail == "wrong_language" else None)
    sku = f"{p.sku}-{color}"
    in_stock = fail == "constraint_ignored" or rng.random() < 0.75
    qty = rng.randint(1, 15) if in_stock else 0
    res: dict[str, Any] = {
        "sku": sku,
        "size": asked,
        "in_stock": in_stock,
        "quantity": qty,
        "price_eur": p.price,
        "material": p.material,
    }
    if not in_stock:
        res["restock_expected"] = (now + timedelta(days=rng.randint(6, 21))).strftime("%Y-%m-%d")
    col = COLORS[al][color]
    if in_stock:
        few = qty <= 3
        answer = {
            "en": f"Yes! The {p.name} in {col} is in stock in size {asked}"
            + (
                (
                    f" - only {qty} pairs left, so don't wait too long."
                    if qty > 1
                    else " - it's the last pair, so don't wait too long."
                )
                if few
                else f", {price(p.price, 'en')}."
            )
            + f" Fit note: it {FIT['en'][p.fit]}.",
            "de": f"Ja! Der {p.name} in {col} ist in Größe {asked} verfügbar"
            + (
                f" - nur noch {qty} Paar, also nicht zu lange warten."
                if few
                else f", {price(p.price, 'de')}."
            )
            + f" Zur Passform: Er {FIT['de'][p.fit]}.",
            "fr": f"Oui ! Le {p.name} {col} est disponible en {asked}"
            + (
                (f", il ne reste que {qty} paires." if qty > 1 else ", c'est la dernière paire.")
                if few
                else f", à {price(p.price, 'fr')}."
            )
            + f" Côté taille : il {FIT['fr'][p.fit]}.",
            "es": f"¡Sí! Las {p.name} en {col} están disponibles en la {asked}"
            + (
                (f", solo quedan {qty} pares." if qty > 1 else ", es el último par.")
                if few
                else f", a {price(p.price, 'es')}."
            )
            + f" {FIT['es'][p.fit].capitalize()}.",
        }[al]
    else:
        back = datetime.strptime(res["restock_expected"], "%Y-%m-%d").replace(tzinfo=UTC)
        answer = {
            "en": f'Sorry, the {p.name} in {col} is sold out in size {size} right now. We expect it back around {fdate(back, "en")}; you can tap "Notify me" on the product page to get an e-mail when it\'s in.',
            "de": f'Leider ist der {p.name} in {col} in Größe {size} gerade ausverkauft. Wir erwarten ihn etwa am {fdate(back, "de")} zurück; über "Benachrichtigen" auf der Produktseite bekommst du dann eine E-Mail.',
            "fr": f"Désolée, le {p.name} {col} est épuisé en {size} pour le moment. Retour prévu vers le {fdate(back, 'fr')} ; cliquez sur « M'avertir » sur la fiche produit pour recevoir un e-mail.",
            "es": f'Lo siento, las {p.name} en {col} están agotadas en la {size}. Esperamos reponerlas hacia {fdate(back, "es")}; pulsa "Avísame" en la ficha del producto y te enviaremos un e-mail.',
        }[al]
    complaint = None
    if fail == "constraint_ignored":
        complaint = (
            rng.choice([f"I asked for {size}, not {asked}", "wrong size", f"I said size {size}!"])
            if c.lang == "en"
            else {
                "de": f"Ich wollte {size}, nicht {asked}",
                "fr": f"J'ai demandé du {size}",
                "es": f"Pedí la {size}",
            }.get(c.lang, "wrong size")
        )
    elif fail == "wrong_language":
        complaint = {
            "en": "English please",
            "de": "Warum auf Englisch?",
            "fr": "Pourquoi en anglais ?",
            "es": "¿Por qué en inglés?",
        }.get(c.lang)
    return Turn(
        "stock",
        user,
        answer,
        [[ToolCall("check_stock", {"sku": sku, "size": asked}, res)]],
        fail,
        complaint,
        al,
    )


def t_recommend(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    size = rng.choice([37, 38, 39, 40, 41, 42, 42, 43, 44])
    kind = rng.choice(["vegan_budget", "vegan", "budget"])
    budget = rng.choice([80, 80, 90, 100])
    ok = [
        p
        for p in ADULT
        if p.sizes == (36, 47)
        and p.category != "slipper"
        and (p.vegan or kind == "budget")
        and (p.price < budget or kind == "vegan")
    ]
    want = rng.choice(ok)
    if fail == "constraint_ignored":
        bad = [
            p
            for p in ADULT
            if p.sizes == (36, 47)
            and p.category != "slipper"
            and ((kind != "budget" and not p.vegan) or (kind != "vegan" and p.price >= budget))
        ]
        rec = rng.choice(bad)
    else:
        rec = want
    color = rng.choice(rec.colors)
    en_c = {
        "vegan_budget": f"vegan shoes (no leather!) in size {size}, under {budget} EUR",
        "vegan": f"something without leather in size {size}",
        "budget": f"everyday shoes in size {size} for under {budget} euros",
    }[kind]
    user = pick(
        rng,
        {
            "en": [
                f"I'm looking for {en_c}. What do you have?",
                f"Can you recommend {en_c}?",
                f"Looking for a gift: {en_c}. Any ideas?",
            ],
            "de": [
                f"Ich suche {({'vegan_budget': f'vegane Schuhe (kein Leder!) in Größe {size} unter {budget} Euro', 'vegan': f'etwas ohne Leder in Größe {size}', 'budget': f'Alltagsschuhe in Größe {size} für unter {budget} Euro'})[kind]}. Was könnt ihr empfehlen?"
            ],
            "fr": [
                f"Je cherche {({'vegan_budget': f'des chaussures véganes (sans cuir) en {size}, à moins de {budget} euros', 'vegan': f'quelque chose sans cuir en {size}', 'budget': f'des chaussures de tous les jours en {size} à moins de {budget} euros'})[kind]}. Vous avez quoi ?"
            ],
            "es": [
                f"Busco {({'vegan_budget': f'zapatillas veganas (sin piel) en la {size} por menos de {budget} euros', 'vegan': f'algo sin piel en la {size}', 'budget': f'zapatos para diario en la {size} por menos de {budget} euros'})[kind]}. ¿Qué me recomendáis?"
            ],
        },
        c.lang,
    )
    al = answer_lang_for(c, fail if fail == "wrong_language" else None)
    sku = f"{rec.sku}-{color}"
    res = {
        "sku": sku,
        "size": size,
        "in_stock": True,
        "quantity": rng.randint(3, 20),
        "price_eur": rec.price,
        "material": rec.material,
    }
    answer = {
        "en": f"I'd suggest the {rec.name} ({COLORS['en'][color]}, {material(rec, 'en')}) for {price(rec.price, 'en')} - it's in stock in size {size}. It {FIT['en'][rec.fit]}.",
        "de": f"Ich würde dir den {rec.name} empfehlen ({COLORS['de'][color]}, {material(rec, 'de')}) für {price(rec.price, 'de')} - in Größe {size} vorrätig. Er {FIT['de'][rec.fit]}.",
        "fr": f"Je vous conseille le {rec.name} ({COLORS['fr'][color]}, {material(rec, 'fr')}) à {price(rec.price, 'fr')}, disponible en {size}. Il {FIT['fr'][rec.fit]}.",
        "es": f"Te recomiendo las {rec.name} ({COLORS['es'][color]}, {material(rec, 'es')}) por {price(rec.price, 'es')}, disponibles en la {size}. {FIT['es'][rec.fit].capitalize()}.",
    }[al]
    complaint = None
    if fail == "constraint_ignored":
        leather = not rec.vegan and kind != "budget"
        complaint = (
            ("I said NO leather" if leather else f"that's over {budget}€")
            if c.lang == "en"
            else {
                "de": "Ich sagte kein Leder" if leather else f"Das ist über {budget} Euro",
                "fr": "J'ai dit sans cuir" if leather else "C'est trop cher",
                "es": "Dije sin piel" if leather else "Es más caro de lo que dije",
            }.get(c.lang, "ignored my budget")
        )
    elif fail == "wrong_language":
        complaint = {
            "en": "I don't speak German",
            "de": "Antwort bitte auf Deutsch",
            "fr": "En français svp",
            "es": "En español por favor",
        }.get(c.lang)
    return Turn(
        "recommend",
        user,
        answer,
        [[ToolCall("check_stock", {"sku": sku, "size": size}, res)]],
        fail,
        complaint,
        al,
    )


SHIPPING = {
    "DE": ("Germany", "Deutschland", "Allemagne", "Alemania", "2-3", True),
    "AT": ("Austria", "Österreich", "Autriche", "Austria", "3-5", True),
    "CH": ("Switzerland", "die Schweiz", "Suisse", "Suiza", "4-7", False),
    "UK": ("the UK", "Großbritannien", "Royaume-Uni", "Reino Unido", "4-7", False),
    "FR": ("France", "Frankreich", "France", "Francia", "3-5", False),
    "ES": ("Spain", "Spanien", "Espagne", "España", "3-5", False),
    "IT": ("Italy", "Italien", "Italie", "Italia", "3-5", False),
    "NL": ("the Netherlands", "die Niederlande", "Pays-Bas", "Países Bajos", "3-5", False),
    "BE": ("Belgium", "Belgien", "Belgique", "Bélgica", "3-5", False),
    "IE": ("Ireland", "Irland", "Irlande", "Irlanda", "3-5", False),
}


def t_shipping(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    code = c.country if rng.random() < 0.7 else rng.choice(sorted(SHIPPING))
    en, de, fr, es, days, express = SHIPPING[code]
    user = pick(
        rng,
        {
            "en": [
                f"How long does delivery to {en} take?",
                f"What does shipping to {en} cost and how fast is it?",
                f"If I order today, when would it arrive in {en}?",
            ],
            "de": [
                f"Wie lange dauert die Lieferung nach {de.replace('die ', '')}?",
                f"Was kostet der Versand nach {de.replace('die ', '')}?",
            ],
            "fr": [f"Combien de temps prend la livraison en {fr} ?"],
            "es": [f"¿Cuánto tarda el envío a {es}?"],
            "nl": [f"Hoe lang duurt de levering naar {en}?"],
        },
        c.lang,
    )
    al = answer_lang_for(c, fail)
    extra = {
        "en": " Duties are prepaid, so there's nothing extra to pay on delivery."
        if code in ("CH", "UK")
        else (" Express (1-2 business days) is available for €9.90." if express else ""),
        "de": " Zölle sind bereits bezahlt, bei der Zustellung fällt nichts mehr an."
        if code in ("CH", "UK")
        else (" Express (1-2 Werktage) gibt es für 9,90 €." if express else ""),
        "fr": " Les droits de douane sont prépayés."
        if code in ("CH", "UK")
        else (" L'express (1 à 2 jours ouvrés) coûte 9,90 €." if express else ""),
        "es": " Los aranceles están prepagados."
        if code in ("CH", "UK")
        else (" El envío exprés (1-2 días hábiles) cuesta 9,90 €." if express else ""),
    }[al]
    answer = {
        "en": f"Standard delivery to {en} takes {days} business days and is free from €60 (otherwise €4.90).{extra}",
        "de": f"Die Standardlieferung nach {de} dauert {days} Werktage und ist ab 60 € kostenlos (sonst 4,90 €).{extra}",
        "fr": f"La livraison standard vers {'la ' if code in ('FR', 'BE', 'CH') else 'le ' if code == 'UK' else ''}{fr} prend {days} jours ouvrés et est gratuite dès 60 € (sinon 4,90 €).{extra}",
        "es": f"El envío estándar a {es} tarda {days} días hábiles y es gratis a partir de 60 € (si no, 4,90 €).{extra}",
    }[al]
    complaint = (
        {
            "en": "English please",
            "de": "Ich hatte auf Deutsch gefragt",
            "fr": "J'ai écrit en français",
            "es": "Te pregunté en español",
        }.get(c.lang, "wrong language")
        if fail
        else None
    )
    return Turn("shipping", user, answer, [], fail, complaint, al)


def t_price_match(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    p = rng.choice([q for q in ADULT if q.price >= 70])
    lower = p.price - rng.choice([10, 15, 20, 25])
    shop = rng.choice(
        ["Zalando", "About You", "Amazon"] + (["another shop"] if c.lang == "en" else [])
    )
    user = pick(
        rng,
        {
            "en": [
                f"I saw the {p.name} for {lower:.0f} EUR at {shop}, can you match that price?",
                f"{shop} has the {p.name} {p.price - lower:.0f} euros cheaper. Price match?",
                f"Do you price match? {shop} sells the {p.name} for {lower:.0f}.",
            ],
            "de": [
                f"Bei {shop} kostet der {p.name} nur {lower:.0f} Euro. Könnt ihr den Preis anpassen?"
            ],
            "fr": [f"Le {p.name} est à {lower:.0f} euros chez {shop}, vous pouvez vous aligner ?"],
            "es": [
                f"En {shop} las {p.name} cuestan {lower:.0f} euros, ¿me hacéis el mismo precio?"
            ],
        },
        c.lang,
    )
    al = answer_lang_for(c, fail if fail == "wrong_language" else None)
    if fail == "invented_policy":
        diff = p.price - lower
        answer = {
            "en": f"Thanks for letting us know! We can't change the price at checkout, but if you order the {p.name} at {price(p.price, 'en')}, we'll refund the difference of {price(diff, 'en')} as a Cobbler & Co gift card after delivery.",
            "de": f"Danke für den Hinweis! Den Preis im Warenkorb können wir nicht ändern, aber wenn du den {p.name} für {price(p.price, 'de')} bestellst, erstatten wir dir die Differenz von {price(diff, 'de')} nach der Lieferung als Cobbler-&-Co-Geschenkgutschein.",
            "fr": f"Merci de nous l'avoir signalé ! Si vous commandez le {p.name} à {price(p.price, 'fr')}, nous vous rembourserons la différence de {price(diff, 'fr')} en carte cadeau Cobbler & Co après la livraison.",
            "es": f"¡Gracias por avisar! Si pides las {p.name} a {price(p.price, 'es')}, te reembolsaremos la diferencia de {price(diff, 'es')} con una tarjeta regalo de Cobbler & Co tras la entrega.",
        }[al]
    else:
        answer = {
            "en": f"Thanks for asking! I'm sorry, but we don't price match, and we don't adjust prices after purchase. The {p.name} is {price(p.price, 'en')} with us, including free shipping and free exchanges within 30 days.",
            "de": f"Danke für die Nachfrage! Leider machen wir keinen Preisabgleich und passen Preise auch nach dem Kauf nicht an. Der {p.name} kostet bei uns {price(p.price, 'de')}, inklusive kostenlosem Versand und Umtausch innerhalb von 30 Tagen.",
            "fr": f"Merci pour votre question ! Désolée, nous ne pratiquons pas l'alignement de prix. Le {p.name} est à {price(p.price, 'fr')} chez nous, livraison et échange gratuits sous 30 jours.",
            "es": f"¡Gracias por preguntar! Lo siento, no igualamos precios de otras tiendas. Las {p.name} cuestan {price(p.price, 'es')} con nosotros, con envío gratis y cambios gratuitos en 30 días.",
        }[al]
    complaint = None
    if fail == "invented_policy":
        complaint = (
            rng.choice(
                [
                    "the FAQ says you don't price match, so which is it?",
                    "Where do I get this gift card? Support e-mail says no such thing",
                ]
            )
            if c.lang == "en"
            else {
                "de": "Der Support per Mail sagt, das gibt es nicht",
                "fr": "Le service client dit le contraire",
                "es": "El soporte por e-mail dice que no",
            }.get(c.lang, "wrong policy")
        )
    elif fail == "wrong_language":
        complaint = {
            "en": "?? English",
            "de": "Warum Englisch?",
            "fr": "En français svp",
            "es": "¿En inglés?",
        }.get(c.lang)
    return Turn("price_match", user, answer, [], fail, complaint, al)


CARE = [
    (
        {
            "en": "How do I clean suede shoes?",
            "de": "Wie reinige ich Wildlederschuhe?",
            "fr": "Comment nettoyer des chaussures en daim ?",
            "es": "¿Cómo limpio unos zapatos de ante?",
        },
        {
            "en": "Let them dry completely first, then brush off dirt with a suede brush in one direction. Rub stubborn spots gently with a suede eraser (a clean pencil eraser works too), and finish with a suede protector spray from 20 cm away. Avoid water and never put them on a radiator.",
            "de": "Lass sie zuerst vollständig trocknen und bürste den Schmutz dann mit einer Wildlederbürste in eine Richtung ab. Hartnäckige Flecken vorsichtig mit einem Wildleder-Radierer bearbeiten und zum Schluss mit Imprägnierspray aus etwa 20 cm Abstand schützen. Kein Wasser und bitte nicht auf die Heizung stellen.",
            "fr": "Laissez-les d'abord sécher complètement, puis brossez la saleté avec une brosse à daim, toujours dans le même sens. Frottez doucement les taches tenaces avec une gomme à daim et terminez avec un spray imperméabilisant à 20 cm. Évitez l'eau et les radiateurs.",
            "es": "Primero deja que se sequen por completo y cepilla la suciedad con un cepillo para ante, siempre en la misma dirección. Frota con suavidad las manchas difíciles con una goma para ante y termina con un spray protector a unos 20 cm. Evita el agua y no las pongas junto al radiador.",
        },
    ),
    (
        {
            "en": "What's the best way to waterproof leather boots?",
            "de": "Wie mache ich Lederstiefel am besten wasserdicht?",
        },
        {
            "en": "Clean them with a damp cloth, let them dry, then apply a leather wax or cream with a soft cloth, paying extra attention to the seams. Let it soak in overnight and buff. A waterproofing spray on top helps; repeat every few weeks in wet weather.",
            "de": "Reinige sie mit einem feuchten Tuch, lass sie trocknen und trage dann Lederwachs oder -creme mit einem weichen Tuch auf, vor allem an den Nähten. Über Nacht einziehen lassen und polieren. Ein Imprägnierspray darüber hilft zusätzlich; bei nassem Wetter alle paar Wochen wiederholen.",
            "fr": "Nettoyez-les avec un chiffon humide, laissez sécher, puis appliquez une cire ou une crème pour cuir, surtout sur les coutures. Laissez pénétrer une nuit et lustrez. Un spray imperméabilisant par-dessus aide aussi.",
            "es": "Límpialas con un paño húmedo, deja que se sequen y aplica cera o crema para piel con un paño suave, sobre todo en las costuras. Deja que penetre toda la noche y pule. Un spray impermeabilizante encima también ayuda.",
        },
    ),
    (
        {"en": "How can I stop my new sneakers from squeaking?"},
        {
            "en": "Squeaks usually come from the insole rubbing: lift it out and sprinkle a little talcum powder underneath. If the sound comes from the sole on smooth floors, lightly roughen the outsole with fine sandpaper.",
            "de": "Das Quietschen kommt meist von der Einlegesohle: Nimm sie heraus und streu etwas Talkumpuder darunter. Kommt es von der Laufsohle auf glatten Böden, die Sohle leicht mit feinem Schleifpapier anrauen.",
            "fr": "Le grincement vient souvent de la semelle intérieure : retirez-la et mettez un peu de talc dessous. S'il vient de la semelle extérieure, poncez-la légèrement au papier fin.",
            "es": "El chirrido suele venir de la plantilla: sácala y pon un poco de talco debajo. Si viene de la suela, líjala un poco con papel de lija fino.",
        },
    ),
    (
        {
            "en": "Can I put the Sunday Sneaker in the washing machine?",
            "de": "Darf der Sunday Sneaker in die Waschmaschine?",
            "es": "¿Puedo lavar las Sunday Sneaker en la lavadora?",
        },
        {
            "en": "Yes: remove the laces and insoles, put the sneakers in a laundry bag and wash at 30 °C on a gentle cycle without fabric softener. Let them air-dry stuffed with newspaper, never in the dryer.",
            "de": "Ja: Schnürsenkel und Einlegesohlen herausnehmen, die Sneaker in einen Wäschesack stecken und bei 30 °C im Schonwaschgang ohne Weichspüler waschen. Mit Zeitungspapier ausgestopft an der Luft trocknen lassen, nie im Trockner.",
            "fr": "Oui : retirez les lacets et les semelles, placez les baskets dans un filet et lavez à 30 °C en cycle délicat, sans adoucissant. Séchage à l'air libre, jamais au sèche-linge.",
            "es": "Sí: quita los cordones y las plantillas, mételas en una bolsa de lavado y lávalas a 30 °C en programa delicado sin suavizante. Sécalas al aire, nunca en la secadora.",
        },
    ),
    (
        {
            "en": "How do I stretch shoes that are a bit tight?",
            "fr": "Comment détendre des chaussures un peu serrées ?",
        },
        {
            "en": "For leather shoes, wear them at home with thick socks for short periods, or use a shoe stretcher overnight; a leather stretch spray speeds it up. Synthetic shoes barely stretch, so if they're too tight you're welcome to exchange them for free within 30 days.",
            "de": "Lederschuhe kannst du zu Hause mit dicken Socken einlaufen oder über Nacht einen Schuhweiter benutzen; ein Leder-Dehnspray beschleunigt das. Synthetikschuhe geben kaum nach - wenn sie zu eng sind, tauschen wir sie innerhalb von 30 Tagen kostenlos um.",
            "fr": "Pour le cuir, portez-les à la maison avec des chaussettes épaisses ou utilisez un embauchoir élargisseur pendant la nuit ; un spray assouplissant aide aussi. Les matières synthétiques se détendent peu : dans ce cas, l'échange est gratuit sous 30 jours.",
            "es": "Si son de piel, úsalas en casa con calcetines gruesos o usa un ensanchador durante la noche; un spray para dar de sí ayuda. Los sintéticos apenas ceden, así que si te aprietan puedes cambiarlas gratis en 30 días.",
        },
    ),
    (
        {
            "en": "Any tips to get salt stains off leather boots?",
            "de": "Wie bekomme ich Salzränder von Lederstiefeln weg?",
        },
        {
            "en": "Mix one part white vinegar with two parts water, dab the stains with a soft cloth, then wipe with clean water and let the boots dry at room temperature. Finish with leather cream to restore the oils.",
            "de": "Mische einen Teil weißen Essig mit zwei Teilen Wasser, tupfe die Ränder mit einem weichen Tuch ab, wische mit klarem Wasser nach und lass die Stiefel bei Zimmertemperatur trocknen. Danach mit Lederpflege eincremen.",
            "fr": "Mélangez une part de vinaigre blanc pour deux parts d'eau, tamponnez les auréoles avec un chiffon doux, rincez à l'eau claire et laissez sécher à température ambiante. Terminez avec une crème pour cuir.",
            "es": "Mezcla una parte de vinagre blanco con dos de agua, aplica con un paño suave sobre las manchas, aclara con agua limpia y deja secar a temperatura ambiente. Termina con crema para piel.",
        },
    ),
]


def t_care(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    options = [(q, a) for q, a in CARE if c.lang in q] or CARE
    q, a = rng.choice(options)
    user = q.get(c.lang, q["en"])
    if c.lang == "en" and rng.random() < 0.4:
        user = (
            rng.choice(["quick question: ", "Hi! ", "hey, ", "Sorry if this is off-topic, but "])
            + user[0].lower()
            + user[1:]
        )
    al = answer_lang_for(c, fail if fail == "wrong_language" else None)
    if fail == "refusal":
        answer = rng.choice(REFUSALS[al])
        complaint = (
            rng.choice(
                [
                    "why not??",
                    "it's a simple question",
                    "useless",
                    "you sell suede shoes...",
                    "seriously?",
                ]
            )
            if c.lang == "en"
            else {"de": "Warum nicht?", "fr": "Pourquoi pas ?", "es": "¿Por qué no?"}.get(
                c.lang, "why not?"
            )
        )
    else:
        answer = a[al]
        complaint = (
            {
                "en": "English?",
                "de": "Bitte auf Deutsch",
                "fr": "En français",
                "es": "En español",
            }.get(c.lang)
            if fail
            else None
        )
    return Turn("care", user, answer, [], fail, complaint, al)


YESNO = [
    (
        {
            "en": "Do you ship to Switzerland?",
            "de": "Liefert ihr in die Schweiz?",
            "fr": "Livrez-vous en Suisse ?",
        },
        {
            "en": "Yes! Delivery to Switzerland takes 4-7 business days and duties are prepaid.",
            "de": "Ja! Die Lieferung in die Schweiz dauert 4-7 Werktage, Zölle sind bereits bezahlt.",
            "fr": "Oui ! La livraison en Suisse prend 4 à 7 jours ouvrés, droits de douane prépayés.",
            "es": "¡Sí! El envío a Suiza tarda 4-7 días hábiles y los aranceles están prepagados.",
        },
    ),
    (
        {
            "en": "Can I pay with PayPal?",
            "de": "Kann ich mit PayPal bezahlen?",
            "es": "¿Se puede pagar con PayPal?",
        },
        {
            "en": "Yes, we accept PayPal, as well as card, Klarna and Apple Pay.",
            "de": "Ja, PayPal geht, außerdem Karte, Klarna und Apple Pay.",
            "fr": "Oui, nous acceptons PayPal, ainsi que la carte, Klarna et Apple Pay.",
            "es": "Sí, aceptamos PayPal, además de tarjeta, Klarna y Apple Pay.",
        },
    ),
    (
        {
            "en": "Is the Sunday Sneaker vegan?",
            "de": "Ist der Sunday Sneaker vegan?",
            "fr": "La Sunday Sneaker est-elle vegan ?",
        },
        {
            "en": "Yes, it's made of organic canvas with a natural rubber sole - no animal materials.",
            "de": "Ja, er besteht aus Bio-Canvas mit Naturkautschuksohle - ganz ohne tierische Materialien.",
            "fr": "Oui, elle est en toile bio avec une semelle en caoutchouc naturel, sans matière animale.",
            "es": "Sí, es de lona orgánica con suela de caucho natural, sin materiales animales.",
        },
    ),
    (
        {"en": "Do you have a store in Hamburg?", "de": "Habt ihr einen Laden in Hamburg?"},
        {
            "en": "No, we're online only - but returns and exchanges are free within the EU.",
            "de": "Nein, wir sind nur online - Rücksendungen und Umtausch sind innerhalb der EU aber kostenlos.",
            "fr": "Non, nous vendons uniquement en ligne, mais les retours et échanges sont gratuits dans l'UE.",
            "es": "No, solo vendemos online, pero las devoluciones y cambios son gratis dentro de la UE.",
        },
    ),
    (
        {
            "en": "Is return shipping free?",
            "de": "Ist die Rücksendung kostenlos?",
            "es": "¿La devolución es gratis?",
        },
        {
            "en": "Yes, within the EU return shipping is free. From the UK and Switzerland it costs €6.90.",
            "de": "Ja, innerhalb der EU ist die Rücksendung kostenlos. Aus Großbritannien und der Schweiz kostet sie 6,90 €.",
            "fr": "Oui, le retour est gratuit dans l'UE. Depuis le Royaume-Uni et la Suisse, il coûte 6,90 €.",
            "es": "Sí, dentro de la UE la devolución es gratis. Desde Reino Unido y Suiza cuesta 6,90 €.",
        },
    ),
    (
        {
            "en": "Can I change my delivery address after ordering?",
            "de": "Kann ich die Lieferadresse nach der Bestellung noch ändern?",
        },
        {
            "en": "Yes, as long as the order hasn't shipped yet. Send me your order number and the new address.",
            "de": "Ja, solange die Bestellung noch nicht verschickt ist. Schick mir einfach die Bestellnummer und die neue Adresse.",
            "fr": "Oui, tant que la commande n'est pas expédiée. Envoyez-moi le numéro de commande et la nouvelle adresse.",
            "es": "Sí, mientras el pedido no se haya enviado. Mándame el número de pedido y la nueva dirección.",
        },
    ),
    (
        {
            "en": "Do you sell gift cards?",
            "de": "Gibt es bei euch Gutscheine?",
            "fr": "Vendez-vous des cartes cadeaux ?",
        },
        {
            "en": "No, we don't offer gift cards at the moment, sorry!",
            "de": "Nein, Gutscheine bieten wir derzeit leider nicht an.",
            "fr": "Non, nous ne proposons pas de cartes cadeaux pour le moment, désolée !",
            "es": "No, de momento no tenemos tarjetas regalo, ¡lo siento!",
        },
    ),
    (
        {"en": "Are your shoe boxes recyclable?"},
        {
            "en": "Yes - they're made of 100% recycled cardboard and go straight into paper recycling.",
            "de": "Ja - sie bestehen zu 100 % aus Recyclingpappe und dürfen ins Altpapier.",
            "fr": "Oui, elles sont en carton 100 % recyclé et vont dans le bac à papier.",
            "es": "Sí, son de cartón 100 % reciclado y van al contenedor de papel.",
        },
    ),
    (
        {
            "en": "Is the Nordkap Chelsea Boot waterproof?",
            "de": "Ist der Nordkap Chelsea Boot wasserdicht?",
        },
        {
            "en": "It's water-resistant thanks to the treated leather, but not fully waterproof - fine for rain, not for deep puddles.",
            "de": "Er ist dank des behandelten Leders wasserabweisend, aber nicht komplett wasserdicht - Regen ist kein Problem, tiefe Pfützen schon.",
            "fr": "Il est déperlant grâce au cuir traité, mais pas totalement imperméable.",
            "es": "Es resistente al agua gracias a la piel tratada, pero no totalmente impermeable.",
        },
    ),
    (
        {"en": "Can I use Klarna to pay later?", "de": "Kann ich mit Klarna auf Rechnung zahlen?"},
        {
            "en": "Yes, Klarna is available at checkout, including pay in 30 days.",
            "de": "Ja, Klarna gibt es an der Kasse, auch mit Zahlung in 30 Tagen.",
            "fr": "Oui, Klarna est disponible au paiement, y compris le paiement à 30 jours.",
            "es": "Sí, Klarna está disponible al pagar, incluido el pago a 30 días.",
        },
    ),
]


#: The one-word answer to each YESNO question, in order.
YESNO_VERDICT = [True, True, True, False, True, True, False, True, False, True]


def t_yesno(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    options = [(q, a, v) for (q, a), v in zip(YESNO, YESNO_VERDICT, strict=True) if c.lang in q]
    q, a, verdict = rng.choice(options)
    user = q.get(c.lang, q["en"])
    al = answer_lang_for(c, fail if fail == "wrong_language" else None)
    if fail == "rambling":
        short = a[al][0].lower() + a[al][1:]
        yes_no = {"en": ("yes", "no"), "de": ("ja", "nein")}[al if al == "de" else "en"][
            0 if verdict else 1
        ]
        opener = {
            "en": f"Thank you so much for reaching out to Cobbler & Co, {c.first}, and what a great question! The short answer is {yes_no}, but there is quite a bit more to say about it.",
            "de": f"Vielen Dank für deine Nachricht an Cobbler & Co, {c.first}, und was für eine gute Frage! Die kurze Antwort ist {yes_no}, aber dazu gibt es noch einiges mehr zu sagen.",
        }[al if al == "de" else "en"]
        answer = ramble(rng, al, opener, short)
        complaint = (
            rng.choice(["too long", "I just needed a yes or no", "wall of text", "tl;dr"])
            if c.lang == "en"
            else {"de": "Viel zu lang", "fr": "Trop long", "es": "Demasiado largo"}.get(
                c.lang, "too long"
            )
        )
    else:
        answer = a[al]
        complaint = (
            {
                "en": "English please",
                "de": "Auf Deutsch bitte",
                "fr": "En français svp",
                "es": "En español",
            }.get(c.lang)
            if fail
            else None
        )
    return Turn("yesno", user, answer, [], fail, complaint, al)


def t_defect(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    o = w.order(c, now, "delivered", age_days=rng.randint(20, 140))
    oid, p = o.order_id, o.product
    what = rng.choice(
        [
            (
                "the heel came off",
                "Der Absatz hat sich gelöst",
                "le talon s'est décollé",
                "se ha despegado el tacón",
            ),
            (
                "the sole is coming loose",
                "Die Sohle löst sich",
                "la semelle se décolle",
                "la suela se está despegando",
            ),
            (
                "a seam split open",
                "Eine Naht ist aufgegangen",
                "une couture a lâché",
                "se ha abierto una costura",
            ),
        ]
    )
    user = pick(
        rng,
        {
            "en": [
                f"My {p.name} (order {oid}) - {what[0]} after just a few weeks. What can you do?",
                f"Hi, {what[0]} on the shoes from order {oid}. Is that covered?",
            ],
            "de": [
                f"Meine {p.name} (Bestellung {oid}) sind nach ein paar Wochen kaputt: {what[1]}. Was könnt ihr tun?",
                f"{what[1]} bei meinen {p.name} aus Bestellung {oid}, dabei habe ich sie erst seit ein paar Wochen. Ist das ein Garantiefall?",
            ],
            "fr": [
                f"Bonjour, sur mes {p.name} (commande {oid}), {what[2]} au bout de quelques semaines. C'est couvert ?"
            ],
            "es": [
                f"Hola, en mis {p.name} (pedido {oid}) {what[3]} tras pocas semanas. ¿Está cubierto?"
            ],
        },
        c.lang,
    )
    al = answer_lang_for(c, fail)
    r = w.return_id()
    rounds = [
        [ToolCall("lookup_order", {"order_id": oid}, o.tool_result())],
        [
            ToolCall(
                "create_return",
                {"order_id": oid, "reason": "defective"},
                {
                    "return_id": r,
                    "status": "created",
                    "label_sent_to": "customer e-mail",
                    "inspection": "required",
                },
            )
        ],
    ]
    answer = {
        "en": f"I'm really sorry about that, {c.first}. Manufacturing defects are covered for 12 months, so this is covered. I've created return {r} and e-mailed you a free label; once our workshop has checked the pair, you can choose a repair, a replacement or a refund.",
        "de": f"Das tut mir wirklich leid, {c.first}. Herstellungsfehler sind 12 Monate abgedeckt, das ist also ein Fall für uns. Ich habe die Rücksendung {r} angelegt und dir ein kostenloses Etikett gemailt; nach der Prüfung in unserer Werkstatt kannst du zwischen Reparatur, Ersatz oder Erstattung wählen.",
        "fr": f"Je suis vraiment désolée, {c.first}. Les défauts de fabrication sont couverts 12 mois. J'ai créé le retour {r} et vous ai envoyé une étiquette gratuite ; après vérification par notre atelier, vous pourrez choisir réparation, remplacement ou remboursement.",
        "es": f"Lo siento mucho, {c.first}. Los defectos de fabricación están cubiertos 12 meses. He creado la devolución {r} y te he enviado una etiqueta gratuita; cuando nuestro taller revise el par, podrás elegir reparación, cambio o reembolso.",
    }[al]
    complaint = (
        {
            "en": "English?",
            "de": "Ich schreibe Deutsch",
            "fr": "Réponse en français svp",
            "es": "Respóndeme en español",
        }.get(c.lang, "wrong language")
        if fail
        else None
    )
    return Turn("defect", user, answer, rounds, fail, complaint, al)


def t_sizing(w: World, c: Customer, now: datetime, fail: str | None) -> Turn:
    rng = w.rng
    p = rng.choice(
        [q for q in ADULT if q.fit != "tts"] + [BY_NAME["Milano Loafer"], BY_NAME["Vega Runner"]]
    )
    size = rng.choice([38, 39, 40, 41, 42, 43, 44])
    user = pick(
        rng,
        {
            "en": [
                f"Does the {p.name} run small? I'm usually a {size}.",
                f"What size should I take in the {p.name}? Normally {size}.",
                f"I'm a {size} in most brands - same for the {p.name}?",
            ],
            "de": [
                f"Fällt der {p.name} klein aus? Ich trage normalerweise {size}.",
                f"Welche Größe soll ich beim {p.name} nehmen? Sonst {size}.",
            ],
            "fr": [f"Le {p.name} taille-t-il petit ? Je fais du {size} d'habitude."],
            "es": [f"¿Las {p.name} tallan pequeño? Normalmente uso un {size}."],
        },
        c.lang,
    )
    al = answer_lang_for(c, fail)
    rec = {
        "tts": size,
        "small_half": size + 0.5,
        "small_one": size + 1,
        "large_half": size - 0.5,
        "large_one": size - 1,
    }[p.fit]
    rec_s = str(int(rec)) if rec == int(rec) else str(rec).replace(".", "," if al != "en" else ".")
    half = rec != int(rec)
    tail = {
        "en": f" So for you: size {rec_s}."
        + (
            f" We only stock whole sizes, so take {int(rec + 0.5) if p.fit.startswith('small') else int(rec - 0.5)}."
            if half
            else ""
        )
        + " Exchanges are free if it doesn't fit.",
        "de": f" Für dich also Größe {rec_s}."
        + (
            f" Wir führen nur ganze Größen, nimm also {int(rec + 0.5) if p.fit.startswith('small') else int(rec - 0.5)}."
            if half
            else ""
        )
        + " Passt es nicht, ist der Umtausch kostenlos.",
        "fr": f" Pour vous : du {rec_s}."
        + (
            f" Nous n'avons que des pointures entières, prenez donc du {int(rec + 0.5) if p.fit.startswith('small') else int(rec - 0.5)}."
            if half
            else ""
        )
        + " L'échange est gratuit si ça ne va pas.",
        "es": f" Para ti: la {rec_s}."
        + (
            f" Solo tenemos tallas enteras, así que elige la {int(rec + 0.5) if p.fit.startswith('small') else int(rec - 0.5)}."
            if half
            else ""
        )
        + " Si no te queda bien, el cambio es gratis.",
    }[al]
    lead = {
        "en": f"The {p.name} {FIT['en'][p.fit]}.",
        "de": f"Der {p.name} {FIT['de'][p.fit]}.",
        "fr": f"Le {p.name} {FIT['fr'][p.fit]}.",
        "es": f"Las {p.name} {FIT['es'][p.fit]}.",
    }[al]
    complaint = (
        {
            "en": "English please",
            "de": "Deutsch bitte",
            "fr": "En français",
            "es": "En español",
        }.get(c.lang, "wrong language")
        if fail
        else None
    )
    return Turn("sizing", user, lead + tail, [], fail, complaint, al)


def t_thanks(w: World, c: Customer, now: datetime, fail: str | None, lang: str) -> Turn:
    rng = w.rng
    user = pick(
        rng,
        {
            "en": [
                "Thanks!",
                "great, thank you",
                "Perfect, thanks a lot!",
                "ok thanks",
                "Thank you, that helps.",
            ],
            "de": ["Danke!", "Super, vielen Dank!", "Alles klar, danke."],
            "fr": ["Merci !", "Parfait, merci beaucoup."],
            "es": ["¡Gracias!", "Perfecto, muchas gracias."],
            "it": ["Grazie!"],
            "nl": ["Bedankt!"],
        },
        c.lang,
    )
    answer = pick(
        rng,
        {
            "en": [
                f"You're welcome, {c.first}! Have a great day.",
                "Happy to help! Enjoy your new shoes.",
                "Anytime! Let me know if there's anything else.",
            ],
            "de": [
                f"Gern geschehen, {c.first}! Einen schönen Tag noch.",
                "Sehr gerne! Viel Freude mit deinen Schuhen.",
            ],
            "fr": [
                f"Avec plaisir, {c.first} ! Bonne journée.",
                "Je vous en prie ! Profitez bien de vos chaussures.",
            ],
            "es": [
                f"¡De nada, {c.first}! Que tengas un buen día.",
                "¡Un placer! Disfruta de tus zapatos.",
            ],
        },
        lang,
    )
    return Turn("thanks", user, answer, [], None, None, lang)


SCENARIOS = {
    "order_status": (t_order_status, 16, ("wrong_language",)),
    "return": (t_return, 11, ("invented_policy", "wrong_language")),
    "refund": (t_refund, 6, ("invented_policy", "wrong_language")),
    "exchange": (t_exchange, 8, ("wrong_language",)),
    "stock": (t_stock, 10, ("constraint_ignored", "wrong_language")),
    "recommend": (t_recommend, 8, ("constraint_ignored", "wrong_language")),
    "shipping": (t_shipping, 7, ("wrong_language",)),
    "price_match": (t_price_match, 5, ("invented_policy", "wrong_language")),
    "care": (t_care, 14, ("refusal", "wrong_language")),
    "yesno": (t_yesno, 19, ("rambling", "wrong_language")),
    "defect": (t_defect, 4, ("wrong_language",)),
    "sizing": (t_sizing, 5, ("wrong_language",)),
}
#: How many support-chat answers carry each failure (a little over 4 % of the support-chat calls each).
FAIL_TARGET = {
    "rambling": 14,
    "refusal": 14,
    "constraint_ignored": 14,
    "invented_policy": 14,
    "wrong_language": 14,
}


@dataclass
class Conversation:
    customer: Customer
    provider: str
    model: str
    session_id: str
    start: datetime
    locale: str
    app_version: str
    temperature: float
    kinds: list[str]
    thanks: bool
    failures: list[str | None] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)


def plan_conversation(w: World) -> Conversation:
    """Who writes, when, to which model, and about what (the turns are built later)."""
    rng = w.rng
    # half of the chats are in English, the rest in German, French or Spanish; a few English
    # speakers live in Germany (locale de-DE). Italian and Dutch customers only write e-mails.
    lang = rng.choices(["en", "de", "fr", "es"], [50, 24, 13, 11])[0]
    c = rng.choice([cu for cu in w.customers if cu.lang == lang])
    if c.lang == "en" and rng.random() < 0.15:
        c = Customer(c.user_id, c.name, c.lang, "de-DE")
    start = random_time(rng)
    provider = "anthropic" if rng.random() < ANTHROPIC_SHARE else "openai"
    if provider == "openai":
        # gpt-4o was tried on part of the traffic in the last week
        model = (
            "gpt-4o"
            if start >= datetime(2026, 11, 13, tzinfo=UTC) and rng.random() < 0.35
            else "gpt-4o-mini"
        )
    else:
        model = rng.choices(["claude-sonnet-4-5", "claude-haiku-4-5"], [3, 2])[0]
    names = list(SCENARIOS)
    weights = [SCENARIOS[n][1] for n in names]
    kinds: list[str] = []
    for _ in range(rng.choices([1, 2, 3], [62, 30, 8])[0]):
        kind = rng.choices(names, weights)[0]
        while kind in kinds:
            kind = rng.choices(names, weights)[0]
        kinds.append(kind)
    thanks = rng.random() < 0.35
    return Conversation(
        c,
        provider,
        model,
        f"sess_{hexid(rng, 16)}",
        start,
        c.locale,
        app_version(rng, start),
        0.3,
        kinds,
        thanks,
        [None] * len(kinds),
    )


def assign_failures(rng: random.Random, convs: list[Conversation]) -> None:
    """Give exactly FAIL_TARGET[f] eligible turns each failure f (wrong language at most once a chat)."""
    for fail, n in FAIL_TARGET.items():
        eligible = []
        for ci, conv in enumerate(convs):
            if fail == "wrong_language" and (
                (conv.customer.lang == "en" and not conv.locale.startswith("de"))
                or any(conv.failures)
            ):
                continue
            if fail == "rambling" and conv.customer.lang not in (
                "en",
                "de",
            ):  # rambling texts exist in English and German
                continue
            for ti, kind in enumerate(conv.kinds):
                if conv.failures[ti] is None and fail in SCENARIOS[kind][2]:
                    eligible.append((ci, ti))
        if fail == "wrong_language":  # one turn per conversation
            by_conv: dict[int, tuple[int, int]] = {}
            for ci, ti in eligible:
                by_conv.setdefault(ci, (ci, ti))
            eligible = list(by_conv.values())
        if len(eligible) < n:
            raise SystemExit(
                f"only {len(eligible)} turns can carry {fail}, {n} wanted: change SEED or the weights"
            )
        for ci, ti in rng.sample(eligible, n):
            convs[ci].failures[ti] = fail


GREETING = re.compile(r"^(hi|hello|hey|hallo|guten tag|bonjour|hola|buenas)[,!]?\s+", re.IGNORECASE)
FOLLOW_UP = {
    "en": ["Thanks. Another question: ", "OK. Also, ", "One more thing: ", "Got it. ", ""],
    "de": ["Danke. Noch eine Frage: ", "Ok. Und noch etwas: ", "Alles klar. ", ""],
    "fr": ["Merci. Autre question : ", "D'accord. Et aussi : ", ""],
    "es": ["Gracias. Otra pregunta: ", "Vale. Y otra cosa: ", ""],
}


def build_turns(w: World, conv: Conversation) -> None:
    c = conv.customer
    conv.turns = [
        SCENARIOS[kind][0](w, c, conv.start, fail)
        for kind, fail in zip(conv.kinds, conv.failures, strict=True)
    ]
    for turn in conv.turns[1:]:  # a follow-up question in the same chat: no second greeting
        m = GREETING.match(turn.user)
        if m:
            rest = turn.user[m.end() :]
            turn.user = rest[0].upper() + rest[1:]
        lead = w.rng.choice(FOLLOW_UP[c.lang])
        lower = lead.endswith(", ") and not turn.user.startswith(("I ", "I'"))
        turn.user = lead + (turn.user[0].lower() + turn.user[1:] if lower else turn.user)
    if conv.thanks:
        # the closing reply is in the customer's language
        conv.turns.append(t_thanks(w, c, conv.start, None, c.lang))


def special_conversations(w: World) -> list[Conversation]:
    """Two conversations whose user text must be shown literally by a terminal UI."""
    rng = w.rng
    out = []
    c1 = next(c for c in w.customers if c.name == "Tom Hughes")
    t1 = datetime(2026, 11, 6, 15, 42, 7, 318000, tzinfo=UTC)
    o1 = w.order(c1, t1, "shipped")
    turn1 = Turn(
        "order_status",
        f'My order confirmation e-mail literally says "[bold red]not markup[/]" where the delivery date should be. Is order {o1.order_id} ok?',
        f"Sorry about that odd e-mail, {c1.first} - that's a template glitch on our side, and I've passed it on to the team. Your order {o1.order_id} is fine: it shipped on {fdate(o1.shipped, 'en')} with {o1.carrier} (tracking {o1.tracking}) and should arrive by {fdate(o1.eta, 'en')}.",
        [[ToolCall("lookup_order", {"order_id": o1.order_id}, o1.tool_result())]],
    )
    out.append(
        Conversation(
            c1,
            "openai",
            "gpt-4o-mini",
            f"sess_{hexid(rng, 16)}",
            t1,
            c1.locale,
            "web-4.12.1",
            0.3,
            ["order_status"],
            False,
            [None],
            [turn1],
        )
    )
    c2 = next(c for c in w.customers if c.name == "Priya Sharma")
    t2 = datetime(2026, 11, 17, 9, 3, 51, 905000, tzinfo=UTC)
    o2 = w.order(c2, t2, "shipped")
    turn2 = Turn(
        "order_status",
        f"I copied this from the tracking page for {o2.order_id}: \u001b[31mred\u001b[0m status DELAYED. What does that mean?",
        f"That red \"DELAYED\" flag means {o2.carrier} missed its first delivery estimate. Your order {o2.order_id} is still on its way (tracking {o2.tracking}); the new estimate is {fdate(o2.eta, 'en')}. If it hasn't arrived by then, just message us and we'll chase the carrier.",
        [[ToolCall("lookup_order", {"order_id": o2.order_id}, o2.tool_result())]],
    )
    out.append(
        Conversation(
            c2,
            "openai",
            "gpt-4o-mini",
            f"sess_{hexid(rng, 16)}",
            t2,
            c2.locale,
            "ios-2.8.0",
            0.3,
            ["order_status"],
            False,
            [None],
            [turn2],
        )
    )
    return out


# --------------------------------------------------------------------------------------------
# Rendering support-chat calls as OpenAI and Anthropic log lines
# --------------------------------------------------------------------------------------------

MODEL_SPEED = {  # (time to first token ms range, ms per output token)
    "gpt-4o-mini": ((280, 650), 14.0),
    "gpt-4o": ((380, 900), 24.0),
    "claude-haiku-4-5": ((330, 700), 9.0),
    "claude-sonnet-4-5": ((600, 1300), 22.0),
}
DATED = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}
FINGERPRINT = {
    "gpt-4o-mini": ["fp_560af6e559", "fp_efad92c60b"],
    "gpt-4o": ["fp_cbf1785567", "fp_a288987b44"],
}


def latency(rng: random.Random, model: str, prompt_tokens: int, out_tokens: int) -> int:
    (lo, hi), per = MODEL_SPEED[model]
    ms = rng.uniform(lo, hi) + prompt_tokens * 0.04 + out_tokens * per * rng.uniform(0.8, 1.25)
    if rng.random() < 0.012:  # a slow outlier: provider congestion
        ms += rng.uniform(6500, 16000)
    return int(ms)


def msg_tokens_openai(messages: list[dict[str, Any]]) -> int:
    total = 3
    for m in messages:
        total += 4 + tokens(m.get("content") or "")
        for call in m.get("tool_calls") or []:
            total += 8 + tokens(call["function"]["arguments"])
    return total


def openai_messages(system: str, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for h in history:
        if h["role"] == "user":
            out.append({"role": "user", "content": h["text"]})
        elif h["role"] == "assistant":
            if h.get("calls"):
                out.append(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": t.id,
                                "type": "function",
                                "function": {
                                    "name": t.name,
                                    "arguments": json.dumps(
                                        t.args, ensure_ascii=False, separators=(",", ":")
                                    ),
                                },
                            }
                            for t in h["calls"]
                        ],
                    }
                )
            else:
                out.append({"role": "assistant", "content": h["text"]})
        else:
            for t in h["calls"]:
                out.append(
                    {
                        "role": "tool",
                        "tool_call_id": t.id,
                        "content": json.dumps(t.result, ensure_ascii=False),
                    }
                )
    return out


def anthropic_messages(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for h in history:
        if h["role"] == "user":
            out.append({"role": "user", "content": h["text"]})
        elif h["role"] == "assistant":
            out.append({"role": "assistant", "content": h["blocks"]})
        else:
            out.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": t.id,
                            "content": json.dumps(t.result, ensure_ascii=False),
                        }
                        for t in h["calls"]
                    ],
                }
            )
    return out


PREAMBLE = {
    "lookup_order": {
        "en": "Let me look up that order for you.",
        "de": "Ich schaue mir die Bestellung kurz an.",
        "fr": "Je regarde votre commande.",
        "es": "Voy a consultar tu pedido.",
    },
    "check_stock": {
        "en": "Let me check the stock.",
        "de": "Ich prüfe kurz den Lagerbestand.",
        "fr": "Je vérifie le stock.",
        "es": "Compruebo el stock.",
    },
    "create_return": {
        "en": "I'll set that up now.",
        "de": "Ich lege das gleich für dich an.",
        "fr": "Je m'en occupe tout de suite.",
        "es": "Lo preparo ahora mismo.",
    },
}


class ChatRenderer:
    """Turns conversations into log lines, keeping the time and ids consistent."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.rng = w.rng
        self.stats: Counter[str] = Counter()

    def envelope(self, conv: Conversation, t: datetime, lat: int) -> dict[str, Any]:
        return {
            "timestamp": iso_z(t),
            "latency_ms": lat,
            "user_id": conv.customer.user_id,
            "session_id": conv.session_id,
        }

    def metadata(self, conv: Conversation) -> dict[str, Any]:
        return {"endpoint": "support-chat", "app_version": conv.app_version, "locale": conv.locale}

    def render(
        self, conv: Conversation, feedback: dict[int, dict[str, str]], errors: set[int]
    ) -> list[tuple[datetime, dict[str, Any]]]:
        rng = self.rng
        lines: list[tuple[datetime, dict[str, Any]]] = []
        system = support_system(conv.customer, conv.start)
        history: list[dict[str, Any]] = []
        t = conv.start
        call_no = 0
        for turn in conv.turns:
            history.append({"role": "user", "text": turn.user})
            steps: list[tuple[str, Any]] = [("tools", r) for r in turn.rounds] + [
                ("text", turn.answer)
            ]
            for kind, payload in steps:
                if call_no in errors:  # a transient provider error, retried by the app
                    line, lat = self.error_line(conv, system, history, t)
                    lines.append((t, line))
                    t += timedelta(milliseconds=lat + rng.randint(400, 2500))
                if kind == "tools":
                    for tc in payload:
                        tc.id = (
                            ("call_" + rid(rng, 24))
                            if conv.provider == "openai"
                            else ("toolu_01" + rid(rng, 22))
                        )
                    preamble = (
                        PREAMBLE[payload[0].name][turn.answer_lang]
                        if conv.provider == "anthropic" and rng.random() < 0.6
                        else ""
                    )
                    started = t
                    line, lat = self.call(conv, system, history, t, calls=payload, text=preamble)
                    history.append(
                        {
                            "role": "assistant",
                            "calls": payload,
                            "blocks": line["response"]["content"]
                            if conv.provider == "anthropic"
                            else None,
                        }
                    )
                    history.append({"role": "tool", "calls": payload})
                    t += timedelta(milliseconds=lat + rng.randint(40, 400))
                else:
                    started = t
                    line, lat = self.call(conv, system, history, t, text=payload)
                    if call_no in feedback:
                        line["feedback"] = feedback[call_no]
                    line["metadata"] = line.pop("metadata")  # keep metadata the last key
                    history.append(
                        {
                            "role": "assistant",
                            "text": payload,
                            "blocks": line["response"]["content"]
                            if conv.provider == "anthropic"
                            else None,
                        }
                    )
                    t += timedelta(milliseconds=lat + rng.randint(15000, 150000))
                lines.append((started, line))
                call_no += 1
        return lines

    def call(
        self,
        conv: Conversation,
        system: str,
        history: list[dict[str, Any]],
        t: datetime,
        *,
        calls: list[ToolCall] | None = None,
        text: str = "",
    ) -> tuple[dict[str, Any], int]:
        rng = self.rng
        if conv.provider == "openai":
            messages = openai_messages(system, history)
            prompt_tokens = msg_tokens_openai(messages) + TOOL_TOKENS["openai"]
            if calls:
                tool_calls = [
                    {
                        "id": tc.id,
                        "type": "function",
                        "function": {
                            "name": tc.name,
                            "arguments": json.dumps(
                                tc.args, ensure_ascii=False, separators=(",", ":")
                            ),
                        },
                    }
                    for tc in calls
                ]
                message: dict[str, Any] = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": tool_calls,
                    "refusal": None,
                    "annotations": [],
                }
                out_tokens = sum(10 + tokens(c["function"]["arguments"]) for c in tool_calls)
                finish = "tool_calls"
            else:
                message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
                out_tokens = tokens(text) + 1
                finish = "stop"
            lat = latency(rng, conv.model, prompt_tokens, out_tokens)
            # OpenAI caches prompt prefixes of 1024+ tokens in steps of 128 when the same prefix was just sent
            cached = (
                1024 + ((prompt_tokens - 1024) // 128) * 128
                if prompt_tokens >= 1024 and rng.random() < 0.5
                else 0
            )
            response = {
                "id": "chatcmpl-" + rid(rng, 29),
                "object": "chat.completion",
                "created": int(t.timestamp()),
                "model": DATED[conv.model],
                "choices": [
                    {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": out_tokens,
                    "total_tokens": prompt_tokens + out_tokens,
                    "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                    "completion_tokens_details": {
                        "reasoning_tokens": 0,
                        "audio_tokens": 0,
                        "accepted_prediction_tokens": 0,
                        "rejected_prediction_tokens": 0,
                    },
                },
                "service_tier": "default",
                "system_fingerprint": rng.choice(FINGERPRINT[conv.model]),
            }
            request = {
                "model": conv.model,
                "temperature": conv.temperature,
                "messages": messages,
                "tools": OPENAI_TOOLS,
            }
        else:
            messages = anthropic_messages(history)
            prompt_tokens = (
                tokens(system)
                + TOOL_TOKENS["anthropic"]
                + sum(
                    6
                    + tokens(
                        json.dumps(m["content"], ensure_ascii=False)
                        if not isinstance(m["content"], str)
                        else m["content"]
                    )
                    for m in messages
                )
            )
            content: list[dict[str, Any]] = []
            if text:
                content.append({"type": "text", "text": text})
            for tc in calls or []:
                content.append({"type": "tool_use", "id": tc.id, "name": tc.name, "input": tc.args})
            out_tokens = tokens(text) + sum(24 + tokens(json.dumps(tc.args)) for tc in calls or [])
            lat = latency(rng, conv.model, prompt_tokens, out_tokens)
            response = {
                "id": "msg_01" + rid(rng, 22),
                "type": "message",
                "role": "assistant",
                "model": DATED[conv.model],
                "content": content,
                "stop_reason": "tool_use" if calls else "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": prompt_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": out_tokens,
                    "service_tier": "standard",
                },
            }
            request = {
                "model": conv.model,
                "max_tokens": 1024,
                "temperature": conv.temperature,
                "system": system,
                "messages": messages,
                "tools": ANTHROPIC_TOOLS,
            }
        line = self.envelope(conv, t, lat)
        line["request"] = request
        line["response"] = response
        line["metadata"] = self.metadata(conv)
        return line, lat

    def error_line(
        self, conv: Conversation, system: str, history: list[dict[str, Any]], t: datetime
    ) -> tuple[dict[str, Any], int]:
        rng = self.rng
        if conv.provider == "openai":
            request = {
                "model": conv.model,
                "temperature": conv.temperature,
                "messages": openai_messages(system, history),
                "tools": OPENAI_TOOLS,
            }
            self.stats["openai_errors"] += 1
            if self.stats["openai_errors"] % 2:  # timeouts and rate limits take turns
                lat = 30000 + rng.randint(0, 400)
                error = {"type": "APITimeoutError", "message": "Request timed out."}
            else:
                lat = rng.randint(180, 420)
                used = rng.randint(198500, 199990)
                error = {
                    "type": "RateLimitError",
                    "status_code": 429,
                    "message": f"Error code: 429 - {{'error': {{'message': 'Rate limit reached for {conv.model} in organization org-Cobb1erCo0Prod on tokens per min (TPM): Limit 200000, Used {used}, Requested {rng.randint(1400, 2600)}. Please try again in {rng.randint(200, 900)}ms. Visit https://platform.openai.com/account/rate-limits to learn more.', 'type': 'tokens', 'param': None, 'code': 'rate_limit_exceeded'}}}}",
                }
        else:
            request = {
                "model": conv.model,
                "max_tokens": 1024,
                "temperature": conv.temperature,
                "system": system,
                "messages": anthropic_messages(history),
                "tools": ANTHROPIC_TOOLS,
            }
            lat = rng.randint(900, 4200)
            error = {
                "type": "OverloadedError",
                "status_code": 529,
                "message": "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}, 'request_id': 'req_011C"
                + rid(rng, 18)
                + "'}",
            }
        line = self.envelope(conv, t, lat)
        line["request"] = request
        line["error"] = error
        line["metadata"] = self.metadata(conv)
        return line, lat


# --------------------------------------------------------------------------------------------
# extract-order: e-mails, extraction results, OTLP spans
# --------------------------------------------------------------------------------------------

INTENTS = [
    "return",
    "exchange",
    "order_status",
    "cancel",
    "address_change",
    "product_question",
    "complaint",
]
INTENT_W = [22, 16, 20, 10, 8, 12, 8]


def email_text(
    rng: random.Random,
    lang: str,
    intent: str,
    name: str,
    oid: str | None,
    items: list[dict[str, Any]],
    mention_sku: bool,
) -> tuple[str, str]:
    """(subject, body) of a customer e-mail."""
    first = name.split()[0]

    def item_desc(it: dict[str, Any], lang: str) -> str:
        p = it["product"]
        ref = f"{p.name} ({it['sku']})" if mention_sku else p.name
        q = it["qty"]
        if lang == "de":
            return f"{q}x {ref} in Größe {it['size']}" if q > 1 else f"{ref} in Größe {it['size']}"
        if lang == "fr":
            return f"{q} paires de {ref} en {it['size']}" if q > 1 else f"{ref} en {it['size']}"
        if lang == "es":
            return (
                f"{q} pares de {ref} en la talla {it['size']}"
                if q > 1
                else f"{ref} en la talla {it['size']}"
            )
        if lang == "it":
            return (
                f"{q} paia di {ref} taglia {it['size']}" if q > 1 else f"{ref} taglia {it['size']}"
            )
        if lang == "nl":
            return f"{q}x {ref} in maat {it['size']}" if q > 1 else f"{ref} in maat {it['size']}"
        return (
            f"{q} pairs of {ref} in size {it['size']}" if q > 1 else f"{ref} in size {it['size']}"
        )

    joiner = {"en": " and ", "de": " und ", "fr": " et ", "es": " y ", "it": " e ", "nl": " en "}[
        lang
    ]
    descs = [item_desc(it, lang) for it in items]
    what = ", ".join(descs[:-1]) + joiner + descs[-1] if len(descs) > 1 else descs[0]
    o = oid or ""
    if len(items) >= 3 and intent == "return":  # a big return, listed line by line
        lines = "\n".join(f"- {d}" for d in descs)
        bulk = {
            "en": (
                f"Return of order {o}",
                f"Hello,\n\nI'd like to return the following items from order {o}:\n{lines}\n\nNone of them fit, unfortunately. Could you send me a return label?\n\nThanks,\n{name}",
            ),
            "de": (
                f"Rücksendung {o}",
                f"Hallo,\n\nich möchte folgende Artikel aus der Bestellung {o} zurückgeben:\n{lines}\n\nLeider passt keiner davon. Können Sie mir ein Rücksendeetikett schicken?\n\nViele Grüße\n{name}",
            ),
            "fr": (
                f"Retour {o}",
                f"Bonjour,\n\nje souhaite retourner les articles suivants de la commande {o} :\n{lines}\n\nAucun ne me va. Pouvez-vous m'envoyer une étiquette de retour ?\n\nCordialement,\n{name}",
            ),
            "es": (
                f"Devolución {o}",
                f"Hola,\n\nquiero devolver estos artículos del pedido {o}:\n{lines}\n\nNinguno me queda bien. ¿Me podéis enviar una etiqueta de devolución?\n\nGracias,\n{name}",
            ),
            "it": (
                f"Reso {o}",
                f"Buongiorno,\n\nvorrei restituire questi articoli dell'ordine {o}:\n{lines}\n\nNessuno mi sta bene. Potete mandarmi un'etichetta di reso?\n\nGrazie,\n{name}",
            ),
        }
        return bulk[lang]
    new = (items[0]["size"] + 1) if items else 42
    texts: dict[str, dict[str, tuple[str, str]]] = {
        "en": {
            "return": (
                f"Return {o}".strip(),
                f"Hello,\n\nI'd like to return the {what}{f' from order {o}' if o else ''}. Unfortunately they don't fit. Could you send me a return label?\n\nThanks,\n{name}",
            ),
            "exchange": (
                f"Exchange request {o}".strip(),
                f"Hi there,\n\nI received the {what}{f' (order {o})' if o else ''} but I need a size {new} instead. Can I exchange them?\n\nBest,\n{first}",
            ),
            "order_status": (
                f"Where is my order {o}?".replace("  ", " "),
                f"Hello,\n\nI placed order {o or '(sorry, I can not find the number)'} last week for the {what} and haven't received a shipping confirmation yet. Can you check?\n\nKind regards,\n{name}",
            ),
            "cancel": (
                f"Cancel order {o}".strip(),
                f"Hi,\n\nplease cancel my order {o} ({what}) - I ordered the wrong thing by mistake. If it has already shipped I'll refuse the parcel.\n\nThanks\n{first}",
            ),
            "address_change": (
                f"New delivery address for {o}".strip(),
                f"Hello,\n\nI just moved. Could you send order {o} ({what}) to 14 Elm Road, Bristol BS6 5AB instead?\n\nMany thanks,\n{name}",
            ),
            "product_question": (
                "Question about sizing",
                f"Hi,\n\nI'm interested in the {what}. Is it true to size, and is it suitable for wide feet?\n\nThanks,\n{first}",
            ),
            "complaint": (
                f"Damaged shoes {o}".strip(),
                f"Hello,\n\nthe {what}{f' from order {o}' if o else ''} arrived with a scuff on the left toe and the box was crushed. This is not what I expect for the price. Please advise.\n\n{name}",
            ),
        },
        "de": {
            "return": (
                f"Rücksendung {o}".strip(),
                f"Hallo,\n\nich möchte meine {what}{f' aus der Bestellung {o}' if o else ''} zurückgeben, sie passen leider nicht. Können Sie mir ein Rücksendeetikett schicken?\n\nViele Grüße\n{name}",
            ),
            "exchange": (
                f"Umtausch {o}".strip(),
                f"Guten Tag,\n\nich habe die {what}{f' (Bestellung {o})' if o else ''} erhalten, bräuchte aber Größe {new}. Ist ein Umtausch möglich?\n\nBeste Grüße\n{first}",
            ),
            "order_status": (
                f"Bestellung {o} noch nicht angekommen".replace("  ", " "),
                f"Hallo,\n\nich habe letzte Woche die {what} bestellt{f' (Bestellnummer {o})' if o else ''}, aber noch keine Versandbestätigung bekommen. Können Sie nachsehen?\n\nDanke und Gruß\n{name}",
            ),
            "cancel": (
                f"Stornierung {o}".strip(),
                f"Hallo,\n\nbitte stornieren Sie meine Bestellung {o} ({what}), ich habe mich vertan.\n\nDanke\n{first}",
            ),
            "address_change": (
                f"Adressänderung {o}".strip(),
                f"Hallo,\n\nbitte liefern Sie die Bestellung {o} ({what}) an meine neue Adresse: Lindenstraße 12, 20259 Hamburg.\n\nVielen Dank\n{name}",
            ),
            "product_question": (
                "Frage zur Passform",
                f"Hallo,\n\nich interessiere mich für die {what}. Fällt das Modell normal aus und ist es für breite Füße geeignet?\n\nGrüße\n{first}",
            ),
            "complaint": (
                f"Reklamation {o}".strip(),
                f"Sehr geehrte Damen und Herren,\n\ndie {what}{f' aus Bestellung {o}' if o else ''} kam mit einem Kratzer an der Spitze an, der Karton war eingedrückt. Für den Preis erwarte ich mehr.\n\nMit freundlichen Grüßen\n{name}",
            ),
        },
        "fr": {
            "return": (
                f"Retour {o}".strip(),
                f"Bonjour,\n\nje souhaite retourner {what}{f' de la commande {o}' if o else ''}, elles ne me vont pas. Pouvez-vous m'envoyer une étiquette de retour ?\n\nCordialement,\n{name}",
            ),
            "exchange": (
                f"Échange {o}".strip(),
                f"Bonjour,\n\nj'ai reçu {what}{f' (commande {o})' if o else ''} mais il me faudrait du {new}. Est-ce possible de les échanger ?\n\nMerci,\n{first}",
            ),
            "order_status": (
                f"Commande {o}".strip(),
                f"Bonjour,\n\nj'ai commandé {what} la semaine dernière{f' (commande {o})' if o else ''} et je n'ai toujours pas de confirmation d'expédition. Pouvez-vous vérifier ?\n\nBien à vous,\n{name}",
            ),
            "cancel": (
                f"Annulation {o}".strip(),
                f"Bonjour,\n\nmerci d'annuler ma commande {o} ({what}).\n\n{first}",
            ),
            "complaint": (
                f"Réclamation {o}".strip(),
                f"Bonjour,\n\n{what}{f' de la commande {o}' if o else ''} sont arrivées abîmées, avec une éraflure sur le bout. Que proposez-vous ?\n\n{name}",
            ),
        },
        "es": {
            "return": (
                f"Devolución {o}".strip(),
                f"Hola,\n\nquiero devolver {what}{f' del pedido {o}' if o else ''}, no me quedan bien. ¿Me podéis enviar una etiqueta de devolución?\n\nGracias,\n{name}",
            ),
            "exchange": (
                f"Cambio de talla {o}".strip(),
                f"Hola,\n\nrecibí {what}{f' (pedido {o})' if o else ''} pero necesito una {new}. ¿Puedo cambiarlas?\n\nUn saludo,\n{first}",
            ),
            "order_status": (
                f"Pedido {o}".strip(),
                f"Hola,\n\nhice un pedido la semana pasada ({what}{f', número {o}' if o else ''}) y todavía no tengo confirmación de envío. ¿Podéis mirarlo?\n\nSaludos,\n{name}",
            ),
            "cancel": (
                f"Cancelar pedido {o}".strip(),
                f"Hola,\n\npor favor, cancelad mi pedido {o} ({what}).\n\nGracias\n{first}",
            ),
            "product_question": (
                "Pregunta sobre tallas",
                f"Hola,\n\nme interesan {what}. ¿Tallan normal? ¿Sirven para pie ancho?\n\n{first}",
            ),
        },
        "it": {
            "return": (
                f"Reso {o}".strip(),
                f"Buongiorno,\n\nvorrei restituire {what}{f' dell’ordine {o}' if o else ''}, purtroppo non mi stanno bene. Potete mandarmi un'etichetta di reso?\n\nGrazie,\n{name}",
            ),
            "order_status": (
                f"Ordine {o}".strip(),
                f"Buongiorno,\n\nho ordinato {what}{f' (ordine {o})' if o else ''} la settimana scorsa ma non ho ancora ricevuto la conferma di spedizione.\n\nCordiali saluti,\n{name}",
            ),
        },
        "nl": {
            "exchange": (
                f"Ruilen {o}".strip(),
                f"Hallo,\n\nik heb {what}{f' (bestelling {o})' if o else ''} ontvangen maar ik heb maat {new} nodig. Kan ik ruilen?\n\nGroet,\n{first}",
            ),
            "order_status": (
                f"Bestelling {o}".strip(),
                f"Hallo,\n\nik heb vorige week {what} besteld{f' (bestelling {o})' if o else ''} maar nog niets ontvangen. Kunt u kijken?\n\nGroeten,\n{name}",
            ),
        },
    }
    return texts[lang][intent]


def email_langs(intent: str) -> list[str]:
    return [
        lang
        for lang in ("en", "de", "fr", "es", "it", "nl")
        if intent
        in {
            "en": INTENTS,
            "de": INTENTS,
            "fr": ["return", "exchange", "order_status", "cancel", "complaint"],
            "es": ["return", "exchange", "order_status", "cancel", "product_question"],
            "it": ["return", "order_status"],
            "nl": ["exchange", "order_status"],
        }[lang]
    ]


def otlp_attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, list):
        return {
            "key": key,
            "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}},
        }
    return {"key": key, "value": {"stringValue": value}}


def broken_output(
    rng: random.Random, kind: str, result: dict[str, Any], wrong_sizes: bool = False
) -> tuple[str, str]:
    """(text, finish_reason) of a broken extraction."""
    good = json.dumps(result, ensure_ascii=False)
    if kind == "trailing_comma":
        text = good[:-1] + ",}" if rng.random() < 0.5 else good.replace("}]", "},]", 1)
        return text, "stop"
    if kind == "prose":
        return rng.choice(
            [
                f"Here is the extracted information:\n\n```json\n{json.dumps(result, ensure_ascii=False, indent=2)}\n```\n\nLet me know if you need anything else!",
                f'Sure! Based on the e-mail, the intent is "{result["intent"]}".\n\n{good}',
                f"```json\n{json.dumps(result, ensure_ascii=False, indent=2)}\n```",
            ]
        ), "stop"
    if kind == "wrong_keys":
        alt = {
            "orderId": result["order_id"],
            "intent": result["intent"],
            "products": [
                {"sku": i["sku"], "size": i["size"], "quantity": i["qty"]} for i in result["items"]
            ],
            "lang": result["language"],
        }
        return json.dumps(alt, ensure_ascii=False), "stop"
    raise ValueError(kind)


class ExtractRenderer:
    def __init__(self, w: World) -> None:
        self.w = w
        self.rng = w.rng
        self.broken: Counter[str] = Counter()
        self.errors = 0

    def one(self, t: datetime, failure: str | None, error: bool) -> dict[str, Any]:
        """One GenAI span for one e-mail."""
        rng = self.rng
        intent = rng.choices(INTENTS, INTENT_W)[0]
        if failure == "truncated":
            intent = "return"
        lang = rng.choices(
            email_langs(intent),
            [
                {"en": 40, "de": 28, "fr": 12, "es": 10, "it": 5, "nl": 5}[x]
                for x in email_langs(intent)
            ],
        )[0]
        pool = [c for c in self.w.customers if c.lang == lang]
        c = rng.choice(pool)
        has_oid = intent != "product_question" and rng.random() < 0.9
        oid = self.w.order_id() if has_oid else None
        if failure == "truncated":
            n_items = rng.randint(4, 5)
        elif intent == "return":
            n_items = rng.choices([1, 2, 3], [80, 14, 6])[0]
        else:
            n_items = rng.choices([1, 2], [85, 15])[0]
        if intent == "product_question":
            n_items = 1
        if n_items >= 3 and oid is None:  # nobody lists a big return without the order number
            oid = self.w.order_id()
        items = []
        for p in rng.sample(ADULT, n_items):
            color = rng.choice(p.colors)
            items.append(
                {
                    "product": p,
                    "sku": f"{p.sku}-{color}",
                    "size": rng.randint(max(p.sizes[0], 37), min(p.sizes[1], 45)),
                    "qty": rng.choices([1, 2], [9, 1])[0],
                }
            )
        mention_sku = rng.random() < 0.55 or failure == "truncated"
        subject, body = email_text(rng, lang, intent, c.name, oid, items, mention_sku)
        user_text = f"From: {c.name} <{c.name.split()[0].lower().replace('é', 'e').replace('í', 'i').replace('ü', 'ue').replace('á', 'a')}.{rng.randint(10, 99)}@example.com>\nSubject: {subject}\n\n{body}"
        result = {
            "order_id": oid,
            "intent": intent,
            "items": [
                {"sku": it["sku"] if mention_sku else None, "size": it["size"], "qty": it["qty"]}
                for it in items
            ],
            "language": lang,
        }
        max_tokens = 120
        if failure == "truncated":
            # pretty-printed output of a long order runs into max_tokens and stops mid-object
            full = json.dumps(result, ensure_ascii=False, indent=4)
            cut = len(full)
            while tokens(full[:cut]) > max_tokens:
                cut -= 1
            text, finish = full[:cut], "length"
            out_tokens = max_tokens
        elif failure:
            text, finish = broken_output(rng, failure, result)
            out_tokens = tokens(text)
        else:
            text, finish = json.dumps(result, ensure_ascii=False), "stop"
            out_tokens = tokens(text)
        if failure:
            self.broken[failure] += 1
        in_tokens = tokens(EXTRACT_SYSTEM) + tokens(user_text) + 11
        trace_id, span_id = hexid(rng, 32), hexid(rng, 16)
        session = f"mail-{hexid(rng, 12)}"
        input_messages = [
            {"role": "system", "parts": [{"type": "text", "content": EXTRACT_SYSTEM}]},
            {"role": "user", "parts": [{"type": "text", "content": user_text}]},
        ]
        attrs = [
            otlp_attr("gen_ai.operation.name", "chat"),
            otlp_attr("gen_ai.provider.name", "openai"),
            otlp_attr("gen_ai.request.model", "gpt-4o-mini"),
            otlp_attr("gen_ai.request.temperature", 0.0),
            otlp_attr("gen_ai.request.max_tokens", max_tokens),
            otlp_attr("server.address", "api.openai.com"),
            otlp_attr("server.port", 443),
        ]
        if error:
            self.errors += 1
            kind = rng.choice(["timeout", "ratelimit", "server"])
            if kind == "timeout":
                dur = 30000 + rng.randint(0, 300)
                etype, msg = "APITimeoutError", "Request timed out."
            elif kind == "ratelimit":
                dur = rng.randint(150, 400)
                etype, msg = (
                    "RateLimitError",
                    f"Error code: 429 - {{'error': {{'message': 'Rate limit reached for gpt-4o-mini in organization org-Cobb1erCo0Prod on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in {rng.randint(60, 400)}ms.', 'type': 'requests', 'param': None, 'code': 'rate_limit_exceeded'}}}}",
                )
            else:
                dur = rng.randint(2000, 9000)
                etype, msg = (
                    "InternalServerError",
                    "Error code: 500 - {'error': {'message': 'The server had an error while processing your request. Sorry about that!', 'type': 'server_error', 'param': None, 'code': None}}",
                )
            attrs += [
                otlp_attr("error.type", etype),
                otlp_attr("gen_ai.input.messages", json.dumps(input_messages, ensure_ascii=False)),
                otlp_attr("user.id", c.user_id),
                otlp_attr("session.id", session),
            ]
            status: dict[str, Any] = {"code": 2, "message": msg}
        else:
            dur = latency(rng, "gpt-4o-mini", in_tokens, out_tokens)
            output_messages = [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": text}],
                    "finish_reason": finish,
                }
            ]
            attrs += [
                otlp_attr("gen_ai.response.model", DATED["gpt-4o-mini"]),
                otlp_attr("gen_ai.response.id", "chatcmpl-" + rid(rng, 29)),
                otlp_attr("gen_ai.response.finish_reasons", [finish]),
                otlp_attr("gen_ai.usage.input_tokens", in_tokens),
                otlp_attr("gen_ai.usage.output_tokens", out_tokens),
                otlp_attr("gen_ai.input.messages", json.dumps(input_messages, ensure_ascii=False)),
                otlp_attr(
                    "gen_ai.output.messages", json.dumps(output_messages, ensure_ascii=False)
                ),
                otlp_attr("user.id", c.user_id),
                otlp_attr("session.id", session),
            ]
            status = {}
        start_ns = int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000 + rng.randint(0, 999)
        end_ns = start_ns + dur * 1_000_000 + rng.randint(0, 999_999)
        return {
            "traceId": trace_id,
            "spanId": span_id,
            "name": "chat gpt-4o-mini",
            "kind": 3,
            "startTimeUnixNano": str(start_ns),
            "endTimeUnixNano": str(end_ns),
            "attributes": attrs,
            "status": status,
        }


def export_request(spans: list[dict[str, Any]]) -> dict[str, Any]:
    resource = {
        "attributes": [
            otlp_attr("service.name", "extract-order"),
            otlp_attr("service.version", "1.8.2"),
            otlp_attr("deployment.environment", "production"),
            otlp_attr("telemetry.sdk.language", "python"),
            otlp_attr("telemetry.sdk.name", "opentelemetry"),
            otlp_attr("telemetry.sdk.version", "1.38.0"),
        ]
    }
    return {
        "resourceSpans": [
            {
                "resource": resource,
                "scopeSpans": [
                    {
                        "scope": {
                            "name": "opentelemetry.instrumentation.openai_v2",
                            "version": "2.2b0",
                        },
                        "spans": spans,
                    }
                ],
                "schemaUrl": "https://opentelemetry.io/schemas/1.37.0",
            }
        ]
    }


# --------------------------------------------------------------------------------------------
# support-agent: the multi-step support agent, as OpenTelemetry GenAI spans
# --------------------------------------------------------------------------------------------

AGENT_FILE = "support-agent.otlp.jsonl"
AGENT_SEED = 20261121
AGENT_SYSTEM = (
    "You are Clara, the support agent of Cobbler & Co, an online shoe shop in Hamburg. Use the "
    "tools to look orders up, check stock, issue refunds and create returns; never say an action "
    "was done unless its tool call succeeded. Policy: returns within 30 days of delivery, refunds "
    "to the original payment method within 5 business days, free size exchanges within 30 days. "
    "Answer in the customer's language, briefly."
)
AGENT_TOOLS = [
    {"type": "function", "name": "lookup_order", "description": "Look an order up by its id.",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                    "required": ["order_id"]}},
    {"type": "function", "name": "check_stock", "description": "Stock of one SKU in one EU size.",
     "parameters": {"type": "object", "properties": {"sku": {"type": "string"},
                                                      "size": {"type": "number"}},
                    "required": ["sku", "size"]}},
    {"type": "function", "name": "issue_refund",
     "description": "Refund an order (or part of it) to the original payment method.",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"},
                                                      "amount_eur": {"type": "number"}},
                    "required": ["order_id", "amount_eur"]}},
    {"type": "function", "name": "create_return", "description": "Create a return and its label.",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"},
                                                      "reason": {"type": "string"}},
                    "required": ["order_id", "reason"]}},
]  # fmt: skip
#: a tool call that does not answer within this many seconds fails with a timeout
TOOL_TIMEOUT_S = 10

_ORDER = {"status": "delivered", "delivered": "2026-11-10", "carrier": "DHL"}

#: Each trace: the customer's message, then rounds of tool calls (name, arguments, result; a
#: result of None is a timeout), then the answer. Rounds of one model response run together.
AGENT_SCRIPTS: list[dict[str, Any]] = [
    {"user": "Where is my order A-10231?", "lang": "en",
     "rounds": [[("lookup_order", {"order_id": "A-10231"},
                  {"order_id": "A-10231", "status": "shipped", "carrier": "DHL",
                   "tracking": "00340434161234567890", "eta": "2026-11-19"})]],
     "answer": "Your order A-10231 is on its way with DHL (tracking 00340434161234567890) and "
               "should arrive on 19 November."},
    {"user": "The sneakers from order A-10244 are too small. I'd like my money back please.",
     "lang": "en",
     "rounds": [[("lookup_order", {"order_id": "A-10244"},
                  {"order_id": "A-10244", **_ORDER, "total_eur": 89.0,
                   "items": [{"sku": "CB-3110-WHT", "size": 40}]})],
                [("issue_refund", {"order_id": "A-10244", "amount_eur": 89.0},
                  {"refund_id": "R-5521", "amount_eur": 89.0, "status": "pending"})]],
     "answer": "I've issued a refund of 89.00 EUR for order A-10244 (refund R-5521). It reaches "
               "your original payment method within 5 business days."},
    {"user": "Do you have the Hafen Chelsea boot CB-2041-BRN in size 42?", "lang": "en",
     "rounds": [[("check_stock", {"sku": "CB-2041-BRN", "size": 42},
                  {"sku": "CB-2041-BRN", "size": 42, "in_stock": 3})]],
     "answer": "Yes, the Hafen Chelsea boot in brown is in stock in size 42 (3 pairs left)."},
    {"user": "Where is order A-10257? It was supposed to arrive yesterday.", "lang": "en",
     "rounds": [[("lookup_order", {"order_id": "A-10257"}, None)],
                [("lookup_order", {"order_id": "A-10257"},
                  {"order_id": "A-10257", "status": "shipped", "carrier": "DHL",
                   "tracking": "00340434169876543210", "eta": "2026-11-20",
                   "note": "delayed at the Hamburg hub"})]],
     "answer": "Sorry for the wait: order A-10257 was delayed at DHL's Hamburg hub and is now "
               "expected on 20 November (tracking 00340434169876543210)."},
    {"user": "Please refund order A-10262, the boots leak.", "lang": "en",
     "rounds": [[("lookup_order", {"order_id": "A-10262"},
                  {"order_id": "A-10262", **_ORDER, "total_eur": 149.0,
                   "items": [{"sku": "CB-2041-BLK", "size": 44}]})],
                [("issue_refund", {"order_id": "A-10262", "amount_eur": 149.0}, None)]],
     # the refund timed out, yet the agent says it was done: the bad answer to find
     "answer": "Done! Your refund of 149.00 EUR for order A-10262 has been issued and will "
               "reach your account within 5 business days."},
    {"user": "Is the Alster loafer CB-1520-NAV available in 39?", "lang": "en",
     "rounds": [[("check_stock", {"sku": "CB-1520-NAV", "size": 39}, None)]],
     "answer": "I'm sorry, I can't check the stock right now. Please try again in a few "
               "minutes, or I can let you know by e-mail once I can see it."},
    {"user": "Can I swap the size 41 boots from order A-10270 for a 42?", "lang": "en",
     "rounds": [[("lookup_order", {"order_id": "A-10270"},
                  {"order_id": "A-10270", **_ORDER, "items": [{"sku": "CB-2041-BRN", "size": 41}]}),
                 ("check_stock", {"sku": "CB-2041-BRN", "size": 42},
                  {"sku": "CB-2041-BRN", "size": 42, "in_stock": 5})]],
     "answer": "Yes: size 42 is in stock, and exchanges within 30 days are free. Send the 41s "
               "back with the label in your parcel and we'll ship the 42s as soon as they arrive."},
    {"user": "I want a refund for order A-10195.", "lang": "en",
     "rounds": [[("lookup_order", {"order_id": "A-10195"},
                  {"order_id": "A-10195", "status": "delivered", "delivered": "2026-09-28",
                   "total_eur": 119.0})]],
     "answer": "Order A-10195 was delivered on 28 September, more than 30 days ago, so I "
               "can't refund it. If the shoes are defective, they are covered for 12 months: "
               "tell me what's wrong and I'll help."},
    {"user": "Wo ist meine Bestellung A-10288?", "lang": "de",
     "rounds": [[("lookup_order", {"order_id": "A-10288"},
                  {"order_id": "A-10288", "status": "processing", "ships": "2026-11-19"})]],
     "answer": "Ihre Bestellung A-10288 wird gerade vorbereitet und geht am 19. November "
               "in den Versand."},
    {"user": "What's the status of order A-99999?", "lang": "en",
     "rounds": [[("lookup_order", {"order_id": "A-99999"},
                  {"error": "order not found"})]],
     "answer": "I couldn't find an order A-99999. Could you check the number in your "
               "confirmation e-mail? It looks like A-12345."},
    {"user": "Is the Elbe runner CB-3310-GRY in stock in 43 or 44?", "lang": "en",
     "rounds": [[("check_stock", {"sku": "CB-3310-GRY", "size": 43},
                  {"sku": "CB-3310-GRY", "size": 43, "in_stock": 0}),
                 ("check_stock", {"sku": "CB-3310-GRY", "size": 44},
                  {"sku": "CB-3310-GRY", "size": 44, "in_stock": 2})]],
     "answer": "Size 43 is sold out, but size 44 is in stock (2 pairs)."},
    {"user": "I'd like to return the sandals from order A-10301, they rub.", "lang": "en",
     "rounds": [[("lookup_order", {"order_id": "A-10301"},
                  {"order_id": "A-10301", **_ORDER, "items": [{"sku": "CB-4105-TAN", "size": 38}]})],
                [("create_return", {"order_id": "A-10301", "reason": "uncomfortable"},
                  {"return_id": "RT-7731", "label_url": "https://cobbler.example.com/r/RT-7731"})]],
     "answer": "Your return RT-7731 is ready: print the label at "
               "https://cobbler.example.com/r/RT-7731 and drop the parcel at any DHL point. "
               "The refund follows within 5 business days of its arrival."},
]  # fmt: skip


def _parts_message(
    role: str, parts: list[dict[str, Any]], finish: str | None = None
) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": role, "parts": parts}
    if finish:
        msg["finish_reason"] = finish
    return msg


def agent_trace(
    rng: random.Random, n: int, script: dict[str, Any], start: datetime
) -> list[dict[str, Any]]:
    """The spans of one run of the support agent: invoke_agent (root), then per model response a
    chat span, then its tool calls as execute_tool spans; the last chat span is the answer."""
    trace_id = hexid(rng, 32)
    root_id = hexid(rng, 16)
    session = f"chat-{rid(rng, 10)}"
    user_id = f"u_{rid(rng, 8)}"
    ns = int(start.timestamp()) * 1_000_000_000 + rng.randint(0, 999_999) * 1000
    t = ns + rng.randint(2, 9) * 1_000_000
    common = [otlp_attr("session.id", session), otlp_attr("user.id", user_id)]
    history: list[dict[str, Any]] = [
        _parts_message("system", [{"type": "text", "content": AGENT_SYSTEM}]),
        _parts_message("user", [{"type": "text", "content": script["user"]}]),
    ]
    spans: list[dict[str, Any]] = []
    tool_defs = json.dumps(AGENT_TOOLS, ensure_ascii=False)

    def chat(out_parts: list[dict[str, Any]], finish: str, t0: int) -> int:
        in_tokens = sum(tokens(json.dumps(m, ensure_ascii=False)) for m in history) + 180
        out_tokens = tokens(json.dumps(out_parts, ensure_ascii=False))
        dur = (380 + 22 * out_tokens + rng.randint(0, 600)) * 1_000_000
        attrs = [
            otlp_attr("gen_ai.operation.name", "chat"),
            otlp_attr("gen_ai.provider.name", "openai"),
            otlp_attr("gen_ai.request.model", "gpt-4o-mini"),
            otlp_attr("gen_ai.request.temperature", 0.2),
            otlp_attr("gen_ai.response.model", DATED["gpt-4o-mini"]),
            otlp_attr("gen_ai.response.id", "chatcmpl-" + rid(rng, 29)),
            otlp_attr("gen_ai.response.finish_reasons", [finish]),
            otlp_attr("gen_ai.usage.input_tokens", in_tokens),
            otlp_attr("gen_ai.usage.output_tokens", out_tokens),
            otlp_attr("gen_ai.input.messages", json.dumps(history, ensure_ascii=False)),
            otlp_attr(
                "gen_ai.output.messages",
                json.dumps([_parts_message("assistant", out_parts, finish)], ensure_ascii=False),
            ),
            otlp_attr("gen_ai.tool.definitions", tool_defs),
            *common,
        ]
        spans.append(
            {
                "traceId": trace_id, "spanId": hexid(rng, 16), "parentSpanId": root_id,
                "name": "chat gpt-4o-mini", "kind": 3,
                "startTimeUnixNano": str(t0), "endTimeUnixNano": str(t0 + dur),
                "attributes": attrs, "status": {},
            }
        )  # fmt: skip
        return t0 + dur

    for rnd in script["rounds"]:
        calls = [
            {"type": "tool_call", "id": "call_" + rid(rng, 24), "name": name, "arguments": args}
            for name, args, _result in rnd
        ]
        t = chat(calls, "tool_calls", t)
        history.append(_parts_message("assistant", calls))
        t_round = t + rng.randint(1, 4) * 1_000_000
        ends = []
        responses = []
        for call, (name, args, result) in zip(calls, rnd, strict=True):
            t0 = t_round + rng.randint(0, 2) * 1_000_000
            attrs = [
                otlp_attr("gen_ai.operation.name", "execute_tool"),
                otlp_attr("gen_ai.tool.name", name),
                otlp_attr("gen_ai.tool.type", "function"),
                otlp_attr("gen_ai.tool.call.id", call["id"]),
                otlp_attr("gen_ai.tool.call.arguments", json.dumps(args, ensure_ascii=False)),
            ]
            if result is None:
                dur = TOOL_TIMEOUT_S * 1_000_000_000 + rng.randint(1, 30) * 1_000_000
                attrs.append(otlp_attr("error.type", "TimeoutError"))
                status = {"code": 2, "message": f"{name} timed out after {TOOL_TIMEOUT_S} s"}
                response: Any = f"Error: {name} timed out after {TOOL_TIMEOUT_S} s"
            else:
                dur = rng.randint(60, 420) * 1_000_000
                attrs.append(
                    otlp_attr("gen_ai.tool.call.result", json.dumps(result, ensure_ascii=False))
                )
                status = {}
                response = result
            spans.append(
                {
                    "traceId": trace_id, "spanId": hexid(rng, 16), "parentSpanId": root_id,
                    "name": f"execute_tool {name}", "kind": 1,
                    "startTimeUnixNano": str(t0), "endTimeUnixNano": str(t0 + dur),
                    "attributes": attrs, "status": status,
                }
            )  # fmt: skip
            ends.append(t0 + dur)
            responses.append({"type": "tool_call_response", "id": call["id"], "response": response})
        history.append(_parts_message("tool", responses))
        t = max(ends) + rng.randint(2, 6) * 1_000_000
    answer = [{"type": "text", "content": script["answer"]}]
    t = chat(answer, "stop", t)
    end = t + rng.randint(2, 8) * 1_000_000
    root_attrs = [
        otlp_attr("gen_ai.operation.name", "invoke_agent"),
        otlp_attr("gen_ai.provider.name", "openai"),
        otlp_attr("gen_ai.agent.name", "Clara"),
        otlp_attr("gen_ai.agent.id", "support-agent-v3"),
        otlp_attr("gen_ai.request.model", "gpt-4o-mini"),
        otlp_attr("gen_ai.conversation.id", session),
        otlp_attr(
            "gen_ai.input.messages",
            json.dumps([history[1]], ensure_ascii=False),
        ),
        otlp_attr(
            "gen_ai.output.messages",
            json.dumps([_parts_message("assistant", answer, "stop")], ensure_ascii=False),
        ),
        otlp_attr("app.locale", {"en": "en-GB", "de": "de-DE"}[script["lang"]]),
        *common,
    ]
    root = {
        "traceId": trace_id, "spanId": root_id, "name": "invoke_agent Clara", "kind": 1,
        "startTimeUnixNano": str(ns), "endTimeUnixNano": str(end),
        "attributes": root_attrs, "status": {},
    }  # fmt: skip
    return [root, *spans]


def agent_export_request(spans: list[dict[str, Any]]) -> dict[str, Any]:
    resource = {
        "attributes": [
            otlp_attr("service.name", "support-agent"),
            otlp_attr("service.version", "3.0.1"),
            otlp_attr("deployment.environment", "production"),
            otlp_attr("telemetry.sdk.language", "python"),
            otlp_attr("telemetry.sdk.name", "opentelemetry"),
            otlp_attr("telemetry.sdk.version", "1.38.0"),
        ]
    }
    scope = {"name": "cobbler.support_agent", "version": "3.0.1"}
    return {
        "resourceSpans": [
            {
                "resource": resource,
                "scopeSpans": [{"scope": scope, "spans": spans}],
                "schemaUrl": "https://opentelemetry.io/schemas/1.37.0",
            }
        ]
    }


def build_agent(out: Path) -> dict[str, Any]:
    """Write the support agent's traces (one export request per trace); return their counts.
    Its own seed: the other files do not change when this one does."""
    rng = random.Random(AGENT_SEED)
    day0 = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)
    starts = sorted(
        day0 + timedelta(minutes=rng.randint(0, 3 * 24 * 60 - 1)) for _ in AGENT_SCRIPTS
    )
    starts = [s.replace(hour=8 + s.hour % 11) for s in starts]  # daytime in Hamburg
    starts.sort()
    traces = [
        agent_trace(rng, n, s, t)
        for n, (s, t) in enumerate(zip(AGENT_SCRIPTS, starts, strict=True))
    ]
    (out / AGENT_FILE).write_text(
        "".join(dump_line(agent_export_request(sp), compact=True) + "\n" for sp in traces),
        encoding="utf-8",
    )
    ops = Counter(
        next(
            a["value"]["stringValue"]
            for a in s["attributes"]
            if a["key"] == "gen_ai.operation.name"
        )
        for spans in traces
        for s in spans
    )
    return {
        "agent_traces": len(traces),
        "agent_spans": sum(len(sp) for sp in traces),
        "agent_operations": dict(sorted(ops.items())),
        "agent_tool_timeouts": sum(1 for sp in traces for s in sp if s["status"].get("code") == 2),
        "agent_traces_with_timeout": sum(
            1 for sp in traces if any(s["status"].get("code") == 2 for s in sp)
        ),
    }


# --------------------------------------------------------------------------------------------
# Putting it together
# --------------------------------------------------------------------------------------------


def dump_line(obj: dict[str, Any], compact: bool = False) -> str:
    if compact:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(obj, ensure_ascii=False)


def build(out: Path) -> dict[str, Any]:
    """Write the three files into `out`; return the counts that README.md documents."""
    w = World(SEED)
    rng = w.rng
    convs = [plan_conversation(w) for _ in range(N_CONVERSATIONS)]
    assign_failures(rng, convs)
    for conv in convs:
        build_turns(w, conv)
    convs += special_conversations(w)
    convs.sort(key=lambda cv: cv.start)
    renderer = ChatRenderer(w)

    # feedback and transient errors are decided per call before rendering
    per_conv_feedback: list[dict[int, dict[str, str]]] = [{} for _ in convs]
    per_conv_errors: list[set[int]] = [set() for _ in convs]
    # feedback: (conversation, call number) of every answer, failed or good
    failed_answers: list[tuple[int, int]] = []
    good_answers: list[tuple[int, int]] = []
    for ci, conv in enumerate(convs):
        idx = 0
        for turn in conv.turns:
            idx += len(turn.rounds)
            if turn.failure:
                failed_answers.append((ci, idx))
            elif turn.kind != "thanks":
                good_answers.append((ci, idx))
            idx += 1
    down_on: Counter[str] = Counter()
    for ci, idx in rng.sample(failed_answers, FEEDBACK[0]):
        turn = answer_turn(convs[ci], idx)
        down_on[turn.failure or ""] += 1
        per_conv_feedback[ci][idx] = {"thumbs": "down", "comment": turn.complaint or "not helpful"}
    picked = rng.sample(good_answers, FEEDBACK[1] + FEEDBACK[2])
    for ci, idx in picked[: FEEDBACK[1]]:
        lang = convs[ci].customer.lang
        comment = rng.choice(
            [
                "",
                "",
                "quick and helpful",
                "thanks!",
                "perfect",
                {"de": "super schnell, danke", "fr": "merci !", "es": "¡genial, gracias!"}.get(
                    lang, "very clear"
                ),
            ]
        )
        per_conv_feedback[ci][idx] = {"thumbs": "up", "comment": comment}
    for ci, idx in picked[FEEDBACK[1] :]:  # unhappy for reasons the answer could not help
        per_conv_feedback[ci][idx] = {
            "thumbs": "down",
            "comment": rng.choice(["I wanted to talk to a human", "still no parcel", "too slow"]),
        }
    # a few calls failed (timeouts, rate limits, overload) and were retried by the app
    for provider, n in (("openai", CHAT_ERRORS[0]), ("anthropic", CHAT_ERRORS[1])):
        for ci in rng.sample([i for i, cv in enumerate(convs) if cv.provider == provider], n):
            calls = sum(len(t.rounds) + 1 for t in convs[ci].turns)
            per_conv_errors[ci].add(rng.randrange(calls))

    openai_lines: list[tuple[datetime, dict[str, Any]]] = []
    anthropic_lines: list[tuple[datetime, dict[str, Any]]] = []
    for conv, fb, errs in zip(convs, per_conv_feedback, per_conv_errors, strict=True):
        lines = renderer.render(conv, fb, errs)
        (openai_lines if conv.provider == "openai" else anthropic_lines).extend(lines)
    openai_lines.sort(key=lambda x: x[0])
    anthropic_lines.sort(key=lambda x: x[0])

    # extract-order spans
    ex = ExtractRenderer(w)
    n_broken = {"trailing_comma": 2, "prose": 2, "wrong_keys": 1, "truncated": 2}
    plan: list[str | None] = [k for k, n in n_broken.items() for _ in range(n)]
    plan += [None] * (N_EMAILS - len(plan))
    rng.shuffle(plan)
    burst_at = 61  # an ops re-run of a backlog: five e-mails within seconds, exported in one batch
    err_idx = set(
        rng.sample(
            [k for k in range(N_EMAILS) if plan[k] is None and not burst_at <= k < burst_at + 5], 4
        )
    )
    times = sorted(random_time(rng) for _ in range(N_EMAILS))
    spans_lines: list[list[dict[str, Any]]] = []
    i = 0
    while i < N_EMAILS:
        if i == burst_at:
            t0 = times[i]
            batch = [
                ex.one(t0 + timedelta(milliseconds=k * rng.randint(500, 900)), plan[i + k], False)
                for k in range(5)
            ]
            spans_lines.append(batch)
            i += 5
            continue
        spans_lines.append([ex.one(times[i], plan[i], i in err_idx)])
        i += 1

    out.mkdir(parents=True, exist_ok=True)
    (out / FILES[0]).write_text(
        "".join(dump_line(obj) + "\n" for _t, obj in openai_lines), encoding="utf-8"
    )
    (out / FILES[1]).write_text(
        "".join(dump_line(obj) + "\n" for _t, obj in anthropic_lines), encoding="utf-8"
    )
    (out / FILES[2]).write_text(
        "".join(dump_line(export_request(spans), compact=True) + "\n" for spans in spans_lines),
        encoding="utf-8",
    )

    # counts for README.md
    chat_lines = [obj for _t, obj in openai_lines + anthropic_lines]
    fails: Counter[str] = Counter()
    for conv in convs:
        for turn in conv.turns:
            if turn.failure:
                fails[turn.failure] += 1
                fails[f"{turn.failure}:{conv.provider}"] += 1
    for k, n in ex.broken.items():
        fails["broken_json:" + k] += n
    fb_lines = [obj for obj in chat_lines if "feedback" in obj]
    return {
        "openai_lines": len(openai_lines),
        "anthropic_lines": len(anthropic_lines),
        "otlp_lines": len(spans_lines),
        "otlp_spans": sum(len(s) for s in spans_lines),
        "otlp_failed": ex.errors,
        "chat_errors": sum(1 for obj in chat_lines if "error" in obj),
        "conversations": len(convs),
        "multi_turn": sum(1 for cv in convs if len(cv.turns) > 1),
        "tool_call_lines": sum(
            1
            for obj in chat_lines
            if obj.get("response", {}).get("stop_reason") == "tool_use"
            or dig_finish(obj) == "tool_calls"
        ),
        "slow_over_8s": sum(1 for obj in chat_lines if obj["latency_ms"] > 8000)
        + sum(
            1
            for spans in spans_lines
            for sp in spans
            if int(sp["endTimeUnixNano"]) - int(sp["startTimeUnixNano"]) > 8_000_000_000
        ),
        "languages": dict(sorted(Counter(cv.customer.lang for cv in convs).items())),
        "feedback": len(fb_lines),
        "feedback_down_on_failures": dict(sorted(down_on.items())),
        "feedback_down": sum(1 for obj in fb_lines if obj["feedback"]["thumbs"] == "down"),
        "failures": dict(sorted(fails.items())),
    }


def answer_turn(conv: Conversation, call_no: int) -> Turn:
    """The turn whose answer is the conversation's call number `call_no`."""
    idx = 0
    for turn in conv.turns:
        idx += len(turn.rounds)
        if idx == call_no:
            return turn
        idx += 1
    raise KeyError(call_no)


def dig_finish(obj: dict[str, Any]) -> str | None:
    choices = obj.get("response", {}).get("choices") or [{}]
    return choices[0].get("finish_reason")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT_DEFAULT,
        help="folder to write the three files into (default: next to this script)",
    )
    args = parser.parse_args(argv)
    stats = build(args.out)
    stats.update(build_agent(args.out))
    json.dump(stats, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
