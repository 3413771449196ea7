"""Suggested themes: failing reviews nobody tagged yet, grouped by what their notes say.

The texts are the current complete reviews with verdict `fail` and no theme (on active queue
items): the reviewer's note, or else the record's output text. They are turned into TF-IDF
vectors over word unigrams and bigrams (stop words of English, German, French and Spanish
removed, a light English suffix folding so `refused`/`refuses` are one term; a text's own
words count in its length but are dropped, so a text sharing one word is close to nothing), then grouped by spherical k-means (cosine; k = min(N/3, 8) unless
given; k-means++ start from a fixed seed, best of a few runs, so the same texts give the
same groups). Then a text far from the rest of its group is left out, groups whose centres are
close are merged (a k larger than the number of themes only splits a theme, and the parts come
back together), a text left out joins the group it is close to, and groups of fewer than two
texts are dropped. Everything is local: no network, no model, pure Python.

A suggestion is named after its top terms (`refund-policy-invented`) and identified by a hash
of its members, so the same input gives the same suggestions with the same ids. Suggestions
are stored (`theme_suggestions`) when shown: accepting one tags exactly the reviews that were
shown, with one new review event per review (append-only, so counts and undo follow), and a
discarded one stays hidden, as does a later group made mostly of its members.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from reviewer.review.themes import THEMES, ThemeInfo, ensure_themes, normalize_theme
from reviewer.store import schema  # noqa: F401  (registers the tables)
from reviewer.store.events import (
    EVENTS,
    QUEUE_ITEMS,
    RECORDS,
    ReviewError,
    current_state,
    insert_event,
    is_latest,
    stamp,
    utc_now,
    write_transaction,
)

SUGGESTIONS: Table = SQLModel.metadata.tables["theme_suggestions"]

MAX_K = 8
SEED = 20261120
RESTARTS = 3
MAX_ITERATIONS = 50
MIN_SIMILARITY = 0.15  # a text this far from the rest of its group is left out of it
MERGE_SIMILARITY = 0.2  # groups whose centres are this close are one group
MIN_SIZE = 2
MIN_DF = 2
TOP_TERMS = 5
MIN_TERM_SHARE = 0.3  # terms weaker than this share of the top term are not shown
BIGRAM_SHARE = 0.6  # a phrase is shown instead of its word when at least this strong
NAME_WORDS = 3
ID_LENGTH = 8
DEFAULT_LIMIT = 2000  # the most recent failing reviews considered
MAX_TEXT = 4000  # characters of one text read

_STOP_TEXT = """
a about above after again against all also am an and any are arent as at be because been before
being below between both but by can cannot cant could couldnt did didnt do does doesnt doing dont
down during each even ever every few for from further get gets got had hadnt has hasnt have havent
having he her here hers herself him himself his how however i id if im in into is isnt it its
itself ive just let lets like may me might more most much must mustnt my myself no nor not now of
off on once only or other ought our ours ourselves out over own per quite rather really said same
say says she should shouldnt since so some still such than that thats the their theirs them
themselves then there theres these they theyre this those though through thus to too under until
up upon us very via was wasnt we were werent what whats when where which while who whom whose why
will with within without won wont would wouldnt yes yet you youd youll your youre yours yourself
yourselves
aber alle allem allen aller alles als also am an ander andere anderen anderer anderes auch auf
aus bei beim bin bis bist da damit dann das dass dein deine dem den denn der des dessen dich die
dies diese diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines
einmal er es etwas euch euer eure für gegen gewesen gibt hab habe haben hat hatte hatten hier
hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im in indem ins ist jede jedem
jeden jeder jedes jene jetzt kann kein keine keinem keinen keiner man manche mehr mein meine mit
muss musste nach nicht nichts noch nun nur ob oder ohne schon sehr sein seine sich sie sind so
soll sollte sondern statt über um und uns unser unter viel vom von vor war waren warum was weil
welche welchem welchen welcher wenn wer werde werden wie wieder will wir wird wo wollen wurde
wurden zu zum zur zwar zwischen
à au aucun aussi autre aux avec avoir ce cela ces cet cette ceux chez comme dans de des donc
du elle elles en encore est et était être eu fait il ils je la le les leur leurs lui mais me même
mes moi mon ne nos notre nous on ont ou où par pas peu peut plus pour qu que quel quelle qui sa
sans se ses si son sont sur ta te tes toi ton tous tout très tu un une vos votre vous été
al algo como con cual cuando de del desde donde el ella ellas ellos en entre era es esa ese eso
esta este esto estos está están fue ha han hay la las le les lo los más me mi muy nada ni no nos
o para pero por porque que quien se sin sobre son su sus también te tiene todo tu un una uno
unos y ya yo
assistant bot model llm ai response reply replied answer answered answers user customer
antwort antworten antwortet kunde kunden nutzer benutzer réponse utilisateur client respuesta
usuario cliente
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

_APOSTROPHES = re.compile(r"['’`]")
_WORDS = re.compile(r"[^\W\d_]+")


class SuggestError(ReviewError, ValueError):
    """A suggestion that cannot be accepted or discarded; the message says why."""


@dataclass(frozen=True, slots=True)
class Member:
    """One failing review in a suggestion."""

    event: int  # its latest review event when suggested
    item: int  # the queue item
    queue: str
    record: str
    reviewer: str
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "item": self.item,
            "queue": self.queue,
            "record": self.record,
            "reviewer": self.reviewer,
        }


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str  # the first characters of `key`
    key: str
    name: str
    terms: list[str]
    members: list[Member]
    example: str
    status: str = "suggested"

    @property
    def size(self) -> int:
        return len(self.members)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "terms": self.terms,
            "size": self.size,
            "example": self.example,
            "status": self.status,
            "members": [m.to_dict() for m in self.members],
        }


@dataclass(frozen=True, slots=True)
class AcceptResult:
    theme: ThemeInfo
    tagged: int  # reviews tagged with the theme now
    unchanged: int = 0  # members no longer failing, or tagged with it already

    def to_dict(self) -> dict[str, Any]:
        return {"theme": self.theme.name, "tagged": self.tagged, "unchanged": self.unchanged}


# -- text -----------------------------------------------------------------------------------------


def fold(word: str) -> str:
    """A light suffix folding: `policies` -> `policy`, `refused`/`refuses` -> `refus`."""
    if len(word) <= 4:
        return word
    for suffix, repl in (
        ("ies", "y"),
        ("ied", "y"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix):
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            base = word[: -len(suffix)] + repl
            if len(base) >= 3:
                word = base
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def tokens(text: str) -> list[tuple[str, str]]:
    """(folded, as written) for each word that is not a stop word."""
    words = _WORDS.findall(_APOSTROPHES.sub("", text[:MAX_TEXT].lower()))
    out = []
    for w in words:
        if len(w) > 1 and w not in STOP_WORDS:
            folded = fold(w)
            if folded not in STOP_WORDS:
                out.append((folded, w))
    return out


def terms_of(text: str, surfaces: dict[str, Counter[str]]) -> Counter[str]:
    """Unigram and bigram counts of a text; `surfaces` collects how each term was written."""
    toks = tokens(text)
    counts: Counter[str] = Counter()
    for i, (term, word) in enumerate(toks):
        counts[term] += 1
        surfaces.setdefault(term, Counter())[word] += 1
        if i + 1 < len(toks):
            bigram = f"{term} {toks[i + 1][0]}"
            counts[bigram] += 1
            surfaces.setdefault(bigram, Counter())[f"{word} {toks[i + 1][1]}"] += 1
    return counts


def tfidf(docs: list[Counter[str]]) -> list[dict[str, float]]:
    """TF-IDF vectors (sublinear tf, smoothed idf), of unit length over all the terms of the
    text, but holding only the terms found in two texts or more: a text whose words are mostly
    its own stays short, so it is close to no group."""
    n = len(docs)
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    vectors = []
    for doc in docs:
        vec = {
            t: (1.0 + math.log(c)) * (math.log((1 + n) / (1 + df[t])) + 1.0) for t, c in doc.items()
        }
        norm = math.sqrt(sum(w * w for w in vec.values()))
        vectors.append({t: w / norm for t, w in vec.items() if df[t] >= MIN_DF})
    return vectors


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vec.values()))
    return {t: w / norm for t, w in vec.items()} if norm > 0 else {}


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def _sum(vectors: list[dict[str, float]], members: list[int]) -> dict[str, float]:
    total: dict[str, float] = {}
    for i in members:
        for t, w in vectors[i].items():
            total[t] = total.get(t, 0.0) + w
    return total


def _centroid(vectors: list[dict[str, float]], members: list[int]) -> dict[str, float]:
    return _unit(_sum(vectors, members))


# -- clustering -----------------------------------------------------------------------------------


def _kmeans(vectors: list[dict[str, float]], k: int, rng: random.Random) -> list[list[int]]:
    """One seeded run of spherical k-means (k-means++ start) over the non-empty vectors."""
    points = [i for i, v in enumerate(vectors) if v]
    if not points:
        return []
    centres = [vectors[rng.choice(points)]]
    while len(centres) < min(k, len(points)):
        gaps = [max(0.0, 1.0 - max(_dot(vectors[i], c) for c in centres)) for i in points]
        total = sum(gaps)
        if total <= 1e-12:
            break
        pick, acc = rng.random() * total, 0.0
        chosen = points[-1]
        for i, gap in zip(points, gaps, strict=True):
            acc += gap
            if acc >= pick and gap > 0:
                chosen = i
                break
        centres.append(vectors[chosen])
    assignment: dict[int, int] = {}
    for _ in range(MAX_ITERATIONS):
        new = {}
        for i in points:
            sims = [_dot(vectors[i], c) for c in centres]
            new[i] = max(range(len(centres)), key=lambda j: (sims[j], -j))
        if new == assignment:
            break
        assignment = new
        groups = [[i for i in points if assignment[i] == j] for j in range(len(centres))]
        centres = [_centroid(vectors, g) for g in groups if g]
        if len(centres) < len(groups):  # an emptied centre: assign again against the rest
            assignment = {}
    groups = [[i for i in points if assignment.get(i) == j] for j in range(len(centres))]
    return [g for g in groups if g]


def _fit(vectors: list[dict[str, float]], groups: list[list[int]]) -> float:
    total = 0.0
    for g in groups:
        centre = _centroid(vectors, g)
        total += sum(_dot(vectors[i], centre) for i in g)
    return total


def _to_the_rest(vectors: list[dict[str, float]], group: list[int]) -> list[float]:
    """The cosine of each member with the centre of the group's other members."""
    sum_vec = _sum(vectors, group)
    square = _dot(sum_vec, sum_vec)
    out = []
    for i in group:
        v = vectors[i]
        with_sum, own = _dot(v, sum_vec), _dot(v, v)
        rest = math.sqrt(max(0.0, square - 2 * with_sum + own))
        out.append((with_sum - own) / rest if rest > 1e-12 else 0.0)
    return out


def cluster(vectors: list[dict[str, float]], k: int) -> list[list[int]]:
    """Groups of at least MIN_SIZE texts (indexes into `vectors`), most members first."""
    rng = random.Random(SEED)
    best: list[list[int]] = []
    best_fit = -1.0
    for _ in range(RESTARTS):
        groups = _kmeans(vectors, k, rng)
        fit = _fit(vectors, groups)
        if fit > best_fit + 1e-9:
            best, best_fit = groups, fit
    # leave out texts far from the rest of their group
    kept = []
    for g in best:
        sims = _to_the_rest(vectors, g)
        close = [i for i, sim in zip(g, sims, strict=True) if sim >= MIN_SIMILARITY - 1e-9]
        if len(close) >= MIN_SIZE:
            kept.append(close)
    # merge groups whose centres are close
    merged = True
    while merged and len(kept) > 1:
        merged = False
        centres = [_centroid(vectors, g) for g in kept]
        pairs = [
            (_dot(centres[a], centres[b]), a, b)
            for a in range(len(kept))
            for b in range(a + 1, len(kept))
        ]
        sim, a, b = max(pairs, key=lambda p: (p[0], -p[1], -p[2]))
        if sim >= MERGE_SIMILARITY:
            kept[a] = sorted(kept[a] + kept[b])
            del kept[b]
            merged = True
    # texts left out (or split off alone) join the group they are close to
    if kept:
        centres = [_centroid(vectors, g) for g in kept]
        grouped = {i for g in kept for i in g}
        for i, vec in enumerate(vectors):
            if i in grouped or not vec:
                continue
            sims = [_dot(vec, c) for c in centres]
            best_group = max(range(len(kept)), key=lambda j: (sims[j], -j))
            if sims[best_group] >= MIN_SIMILARITY:
                kept[best_group].append(i)
    out = [sorted(g) for g in kept if len(g) >= MIN_SIZE]
    return sorted(out, key=lambda g: (-len(g), g[0]))


def _surface(term: str, surfaces: dict[str, Counter[str]]) -> str:
    forms = surfaces.get(term)
    if not forms:
        return term
    return min(forms.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0]


def describe(
    vectors: list[dict[str, float]], group: list[int], surfaces: dict[str, Counter[str]]
) -> tuple[str, list[str]]:
    """A name from the group's top terms, and those terms (as written)."""
    centre = _centroid(vectors, group)
    ranked = sorted(centre.items(), key=lambda tw: (-tw[1], tw[0]))
    candidates = ranked[: 3 * TOP_TERMS]
    terms: list[str] = []
    covered: set[str] = set()
    for term, weight in candidates:
        if weight < MIN_TERM_SHARE * candidates[0][1]:
            break  # weak terms say little about the group
        if " " not in term:  # a word: its strongest phrase instead, when nearly as strong
            phrases = [
                (t, w)
                for t, w in candidates
                if " " in t and w >= BIGRAM_SHARE * weight and term in t.split(" ")
            ]
            if phrases:
                term = phrases[0][0]
        if all(word in covered for word in term.split(" ")):
            continue  # its words are listed already
        terms.append(term)
        covered.update(term.split(" "))
        if len(terms) == TOP_TERMS:
            break
    words: list[str] = []
    for term in terms:
        for word in _surface(term, surfaces).split(" "):
            if word not in words and len(words) < NAME_WORDS:
                words.append(word)
    name = normalize_theme("-".join(words)) if words else "suggested-theme"
    return name, [_surface(t, surfaces) for t in terms]


# -- the database ---------------------------------------------------------------------------------


def _output_text(output: str | None) -> str:
    if not output:
        return ""
    try:
        message = orjson.loads(output)
    except orjson.JSONDecodeError:
        return ""
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def untagged_failures(conn: Connection, *, limit: int = DEFAULT_LIMIT) -> list[Member]:
    """The current complete failing reviews with no theme on active items (the most recent
    `limit`), each with its text, in a stable order (queue item, reviewer)."""
    e = EVENTS.alias("e")
    rows = conn.execute(
        select(
            e.c.id,
            e.c.queue_item_id,
            e.c.queue,
            e.c.record_id,
            e.c.reviewer,
            e.c.note,
            RECORDS.c.output,
        )
        .select_from(
            e.join(QUEUE_ITEMS, QUEUE_ITEMS.c.id == e.c.queue_item_id).join(
                RECORDS, RECORDS.c.id == e.c.record_id
            )
        )
        .where(
            e.c.complete.is_(True),
            e.c.verdict == "fail",
            or_(e.c.themes.is_(None), e.c.themes == "[]"),
            QUEUE_ITEMS.c.active.is_(True),
            is_latest(e),
        )
        .order_by(e.c.id.desc())
        .limit(limit)
    ).all()
    members = []
    for r in rows:
        text = (r.note or "").strip() or _output_text(r.output).strip()
        if text:
            members.append(Member(r.id, r.queue_item_id, r.queue, r.record_id, r.reviewer, text))
    return sorted(members, key=lambda m: (m.item, m.reviewer))


def _key(members: list[Member]) -> str:
    doc = sorted([m.item, m.reviewer, m.text] for m in members)
    return hashlib.sha256(orjson.dumps(doc)).hexdigest()


def compute_suggestions(members: list[Member], *, k: int | None = None) -> list[Suggestion]:
    """The suggestions for these texts (no database): deterministic."""
    if k is not None and k < 1:
        raise SuggestError("k is at least 1")
    if len(members) < MIN_SIZE:
        return []
    members = sorted(members, key=lambda m: (m.item, m.reviewer, m.text))
    surfaces: dict[str, Counter[str]] = {}
    docs = [terms_of(m.text, surfaces) for m in members]
    vectors = tfidf(docs)
    groups = cluster(vectors, k or max(1, min(len(members) // 3, MAX_K)))
    out = []
    for group in groups:
        name, terms = describe(vectors, group, surfaces)
        centre = _centroid(vectors, group)
        example = max(group, key=lambda i: (_dot(vectors[i], centre), -i))
        chosen = [members[i] for i in group]
        key = _key(chosen)
        out.append(Suggestion(key[:ID_LENGTH], key, name, terms, chosen, members[example].text))
    return out


def _insert_ignoring(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(
            postgresql.insert(SUGGESTIONS)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["key"])
        )
    elif conn.dialect.name == "sqlite":
        conn.execute(
            sqlite.insert(SUGGESTIONS).values(rows).on_conflict_do_nothing(index_elements=["key"])
        )
    else:
        keys = [r["key"] for r in rows]
        known = set(
            conn.execute(select(SUGGESTIONS.c.key).where(SUGGESTIONS.c.key.in_(keys))).scalars()
        )
        new = [r for r in rows if r["key"] not in known]
        if new:
            conn.execute(insert(SUGGESTIONS), new)


def _member_ids(members_json: str | None) -> set[tuple[int, str]]:
    return {(int(m["item"]), str(m["reviewer"])) for m in orjson.loads(members_json or "[]")}


def suggest_themes(
    engine: Engine, *, k: int | None = None, limit: int = DEFAULT_LIMIT
) -> list[Suggestion]:
    """Suggested themes for the failing reviews nobody tagged, most members first; stored so
    they can be accepted or discarded by id. Discarded ones (and groups made mostly of a
    discarded one's members) are left out."""
    with engine.connect() as conn:
        members = untagged_failures(conn, limit=limit)
    found = compute_suggestions(members, k=k)
    if not found:
        return []
    now = stamp(utc_now())
    with write_transaction(engine) as conn:
        _insert_ignoring(
            conn,
            [
                {
                    "key": s.key,
                    "name": s.name,
                    "terms": orjson.dumps(s.terms).decode(),
                    "members": orjson.dumps([m.to_dict() for m in s.members]).decode(),
                    "example": s.example,
                    "status": "suggested",
                    "created_at": now,
                }
                for s in found
            ],
        )
        status = dict(
            conn.execute(
                select(SUGGESTIONS.c.key, SUGGESTIONS.c.status).where(
                    SUGGESTIONS.c.key.in_([s.key for s in found])
                )
            ).all()
        )
        discarded = [
            _member_ids(m)
            for m in conn.execute(
                select(SUGGESTIONS.c.members).where(SUGGESTIONS.c.status == "discarded")
            ).scalars()
        ]
    shown = []
    for s in found:
        if status.get(s.key, "suggested") != "suggested":
            continue
        ids = {(m.item, m.reviewer) for m in s.members}
        if any(2 * len(ids & d) >= len(ids) for d in discarded):
            continue
        shown.append(s)
    return shown


def _find(conn: Connection, suggestion_id: str) -> Any:
    prefix = suggestion_id.strip().lower()
    if not prefix:
        raise SuggestError("which suggestion? give its id")
    rows = conn.execute(
        select(SUGGESTIONS).where(SUGGESTIONS.c.key.startswith(prefix, autoescape=True)).limit(2)
    ).all()
    if not rows:
        raise SuggestError(f"no suggested theme {suggestion_id!r}: run `reviewer themes suggest`")
    if len(rows) > 1:
        raise SuggestError(f"{suggestion_id!r} names more than one suggestion: give more of its id")
    return rows[0]


def get_suggestion(engine: Engine, suggestion_id: str) -> Suggestion:
    """A stored suggestion by id (or a unique prefix of its key)."""
    with engine.connect() as conn:
        row = _find(conn, suggestion_id)
    members = [
        Member(int(m["event"]), int(m["item"]), m["queue"], m["record"], m["reviewer"])
        for m in orjson.loads(row.members or "[]")
    ]
    return Suggestion(
        row.key[:ID_LENGTH],
        row.key,
        row.name,
        orjson.loads(row.terms or "[]"),
        members,
        row.example or "",
        row.status,
    )


def accept(
    engine: Engine, suggestion_id: str, *, name: str | None = None, by: str | None = None
) -> AcceptResult:
    """Create the theme (the suggestion's name, or `name`) and add it to each member review
    still failing: one new `themes` event per review, in the name of the review's reviewer."""
    with write_transaction(engine) as conn:
        row = _find(conn, suggestion_id)
        if row.status == "accepted":
            raise SuggestError(f"suggestion {suggestion_id} was accepted already, as {row.theme}")
        theme = normalize_theme(name if name and name.strip() else row.name)
        now = stamp(utc_now())
        ensure_themes(conn, [theme], created_by=by, now=now)
        tagged = unchanged = 0
        for m in orjson.loads(row.members or "[]"):
            item = conn.execute(
                select(QUEUE_ITEMS).where(QUEUE_ITEMS.c.id == int(m["item"])).with_for_update()
            ).first()
            state = current_state(conn, int(m["item"]), str(m["reviewer"]))
            if (
                item is None
                or not state.complete
                or state.verdict != "fail"
                or theme in state.themes
            ):
                unchanged += 1
                continue
            after = replace(state, scores=dict(state.scores), themes=[*state.themes, theme])
            insert_event(conn, item, state.reviewer, "themes", after, now=now)
            tagged += 1
        conn.execute(
            update(SUGGESTIONS)
            .where(SUGGESTIONS.c.id == row.id)
            .values(status="accepted", theme=theme, decided_at=now, decided_by=by)
        )
        info = conn.execute(select(THEMES).where(THEMES.c.name == theme)).one()
    return AcceptResult(
        ThemeInfo(info.name, info.description, info.created_by, info.created_at), tagged, unchanged
    )


def discard(engine: Engine, suggestion_id: str, *, by: str | None = None) -> Suggestion:
    """Hide the suggestion from later suggestions (an accepted one cannot be discarded)."""
    with write_transaction(engine) as conn:
        row = _find(conn, suggestion_id)
        if row.status == "accepted":
            raise SuggestError(f"suggestion {suggestion_id} was accepted already, as {row.theme}")
        conn.execute(
            update(SUGGESTIONS)
            .where(SUGGESTIONS.c.id == row.id)
            .values(status="discarded", decided_at=stamp(utc_now()), decided_by=by)
        )
    return get_suggestion(engine, suggestion_id)


__all__ = [
    "AcceptResult",
    "Member",
    "SuggestError",
    "Suggestion",
    "accept",
    "compute_suggestions",
    "discard",
    "get_suggestion",
    "suggest_themes",
    "untagged_failures",
]
