"""The words of synthetic content, composed a batch at a time with Arrow string kernels.

A text is a run of optional segments, each chosen per row from a small phrase pool:

    [@mention] opener [mentions] [full name] [e-mail or phone] [number] [closer]

The segments exercise what the corpus builder must get right: @handles that resolve to
members (and are listed in ``mentions``), full names and addresses of people who may
have objected, phone numbers in several national formats, and digits that are *not* phone
numbers (years, counts, handles like ``@sam2024``). Nothing but a mention or an e-mail
address ever contains ``@``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from notrain.contracts import ContentKind
from notrain.synth.names import PEOPLE, PEOPLE_EMAIL_DOMAINS, person_email, popularity

IntArray = npt.NDArray[np.int64]

OPENERS: dict[ContentKind, tuple[str, ...]] = {
    ContentKind.POST: (
        "Finally finished the marathon training plan.",
        "What a week it has been.",
        "Anyone else watching the match tonight?",
        "New recipe: lentil soup with lemon.",
        "Reading a great book on the history of Lisbon.",
        "Moving house this weekend.",
        "The garden is finally blooming.",
        "Back at work after the holidays.",
        "Thinking about learning Portuguese.",
        "Our choir concert was a success.",
        "Rainy Sunday, perfect for baking.",
        "Started volunteering at the food bank.",
        "Does anyone know a good bike repair shop?",
        "Proud of our team today.",
        "First day at the new job!",
        "Summer plans are coming together.",
        "Café au lait and croissants, the usual.",
    ),
    ContentKind.PHOTO: (
        "Sunset over the harbour.",
        "Our dog discovering snow.",
        "Street art downtown.",
        "Breakfast on the balcony.",
        "View from the top of the hill.",
        "Family picnic.",
        "The old bridge at night.",
        "Autumn colours in the park.",
        "Birthday cake!",
        "Misty morning by the lake.",
    ),
    ContentKind.VIDEO: (
        "Quick tutorial: folding a paper crane.",
        "Live from the festival.",
        "Our band rehearsing the new song.",
        "Timelapse of the city skyline.",
        "The kids learning to ride bikes.",
        "Cooking pasta from scratch.",
    ),
    ContentKind.CAPTION: (
        "Golden hour never disappoints.",
        "Best day of the trip.",
        "No filter needed.",
        "Throwback to last summer.",
        "Home sweet home.",
        "Caught this on the way back.",
        "Still can't believe this view.",
        "Little moments.",
    ),
    ContentKind.COMMENT: (
        "Love this!",
        "Congratulations!",
        "So beautiful.",
        "Where is this?",
        "Haha, classic.",
        "Totally agree.",
        "Miss you all!",
        "Great shot.",
        "Can't wait to see it.",
        "This made my day.",
        "Interesting point.",
        "Well deserved!",
        "Looks delicious.",
    ),
    ContentKind.STORY: (
        "Coffee first.",
        "Guess where I am.",
        "On the road again.",
        "Concert tonight!",
        "Monday mood.",
        "Gym done.",
        "Sunny at last.",
    ),
    ContentKind.AI_CHAT: (
        "Can you help me plan a weekend trip?",
        "Summarise this article for me please.",
        "What is a good name for a bakery?",
        "Write a birthday poem for my sister.",
        "How do I fix a leaking tap?",
        "Translate this into Spanish: see you soon.",
        "Suggest a vegetarian dinner for six.",
        "Explain compound interest simply.",
    ),
    ContentKind.PRIVATE_MESSAGE: (
        "Hey, are you free tonight?",
        "Did you get my letter?",
        "Running late, sorry!",
        "Can you send me the address?",
        "Thanks for yesterday.",
        "Call me when you can.",
        "Happy birthday!!",
        "Here is the contact you asked for.",
    ),
}

MENTION_LEADS = ("with", "cc", "thanks", "hey", "feat.", "shout-out to", "look,", "ask")
NAME_LEADS = (
    "Dinner with",
    "Met",
    "Congrats to",
    "Happy birthday",
    "Thanks to",
    "Photo by",
    "Lunch with",
    "Say hi to",
    "Ran into",
)
EMAIL_LEADS = ("write to", "mail me at", "contact:", "send it to", "reach out to")
PHONE_LEADS = ("call me on", "my number is", "text", "ring", "whatsapp:", "tel.")
# Digits that are not phone numbers; a redactor that strips these is over-reaching.
NUMBERS = (
    "Back in 2016 it was different.",
    "We have 3 cats now.",
    "Top 10 for sure.",
    "Ran 5 km today.",
    "Read 42 pages.",
    "Day 12 of 30.",
    "10/10 would go again.",
    "Meet at 7pm?",
    "Took 2 hours.",
    "Room 101.",
    "Since 2019!",
    "Only 25 minutes left.",
    "Won 3-0.",
    "Updated to version 2.1 already.",
    "See you in 2025.",
    "1st place!",
    "Grandpa turns 100 next week.",
    "In 2024 we moved here.",
)
CLOSERS = (
    "#sunday",
    "#tbt",
    "#travel",
    "#food",
    "#family",
    "#music",
    "#nofilter",
    ":)",
    "<3",
    "See you soon.",
    "More soon.",
    "Cheers.",
    "😊",
    "🎉",
    "❤️",
)
_MENTION_SHARE = 0.14
_MENTION_FIRST = 0.35  # of rows with mentions, those that open with one, as replies do
_MENTION_COUNTS = (1, 2, 3)
_MENTION_COUNT_SHARES = (0.7, 0.2, 0.1)
_NAME_SHARE = 0.05
_EMAIL_SHARE = 0.015
_PHONE_SHARE = 0.015
_CONTACT_BOOST = 4.0  # private messages and chats carry contact details more often
_NUMBER_SHARE = 0.12
_CLOSER_SHARE = 0.4

_KINDS = tuple(ContentKind)


def _pool(values: tuple[str, ...] | list[str]) -> pa.Array:
    return pa.array(values, type=pa.string())


_OPENER_POOL = _pool([text for kind in _KINDS for text in OPENERS[kind]])
_OPENER_START = np.cumsum([0] + [len(OPENERS[kind]) for kind in _KINDS])[:-1]
_OPENER_SIZE = np.array([len(OPENERS[kind]) for kind in _KINDS])
_MENTION_LEAD_POOL = _pool(MENTION_LEADS)
_NAME_LEAD_POOL = _pool(NAME_LEADS)
_EMAIL_LEAD_POOL = _pool(EMAIL_LEADS)
_PHONE_LEAD_POOL = _pool(PHONE_LEADS)
_NUMBER_POOL = _pool(NUMBERS)
_CLOSER_POOL = _pool(CLOSERS)
_PEOPLE_POOL = _pool(PEOPLE)
_PEOPLE_P = popularity(len(PEOPLE))
# Addresses people use in texts, by the same rank as their names, and some short forms
# ("maria.g@example.org") that belong to nobody in particular.
_PEOPLE_EMAIL_POOL = _pool([person_email(rank, person) for rank, person in enumerate(PEOPLE)])
_SHORT_EMAIL_POOL = _pool(
    [
        f"{first.lower()}.{last[0].lower()}@{PEOPLE_EMAIL_DOMAINS[1]}"
        for first, last in (person.split(" ") for person in PEOPLE[:300])
    ]
)


def kind_code(kind: ContentKind) -> int:
    """The integer a kind is sampled as; the order of ``ContentKind``."""
    return _KINDS.index(kind)


def mention_counts(
    rng: np.random.Generator, has_text: npt.NDArray[np.bool_], max_mentions: int
) -> IntArray:
    """How many @mentions each row's text makes (0 where there is no text)."""
    n = len(has_text)
    drawn = rng.choice(np.array(_MENTION_COUNTS, dtype=np.int64), size=n, p=_MENTION_COUNT_SHARES)
    counts: IntArray = np.where((rng.random(n) < _MENTION_SHARE) & has_text, drawn, 0)
    return np.minimum(counts, max_mentions)


def compose(
    rng: np.random.Generator,
    kinds: npt.NDArray[np.int8],
    has_text: npt.NDArray[np.bool_],
    mentioned: IntArray,
    handles: pa.Array,
    member_emails: pa.Array,
) -> pa.Array:
    """Texts for one batch of rows.

    ``mentioned`` is an ``(n, 3)`` array of indices into ``handles`` (-1 for no mention),
    written in that order; ``member_emails`` (non-null) lend some of the e-mail addresses.
    Rows where ``has_text`` is false get a null text.
    """
    n = len(kinds)
    contact_boost = np.where(
        (kinds == kind_code(ContentKind.PRIVATE_MESSAGE))
        | (kinds == kind_code(ContentKind.AI_CHAT)),
        _CONTACT_BOOST,
        1.0,
    )

    opener_idx = _OPENER_START[kinds] + (rng.random(n) * _OPENER_SIZE[kinds]).astype(np.int64)
    opener = _OPENER_POOL.take(pa.array(opener_idx))

    handle_words = [_prefixed("@", _take(handles, mentioned[:, j])) for j in range(3)]
    has_mention = mentioned[:, 0] >= 0
    mention_first = has_mention & (rng.random(n) < _MENTION_FIRST)
    mentions = _join(handle_words)
    leading = pc.if_else(pa.array(mention_first), mentions, pa.nulls(n, pa.string()))
    trailing = _join([_draw(rng, _MENTION_LEAD_POOL, has_mention & ~mention_first), mentions])

    named = rng.random(n) < _NAME_SHARE
    person = _PEOPLE_POOL.take(_masked(rng.choice(len(PEOPLE), size=n, p=_PEOPLE_P), named))
    name = _prefixed("", _join([_draw(rng, _NAME_LEAD_POOL, named), person], " "), ".")

    contact_roll = rng.random(n) / contact_boost
    emailed = contact_roll < _EMAIL_SHARE
    phoned = (contact_roll >= _EMAIL_SHARE) & (contact_roll < _EMAIL_SHARE + _PHONE_SHARE)
    email = _join([_draw(rng, _EMAIL_LEAD_POOL, emailed), _emails(rng, emailed, member_emails)])
    phone = _join([_draw(rng, _PHONE_LEAD_POOL, phoned), _phones(rng, phoned)])
    contact = pc.coalesce(email, phone)

    number = _draw(rng, _NUMBER_POOL, rng.random(n) < _NUMBER_SHARE)
    closer = _draw(rng, _CLOSER_POOL, rng.random(n) < _CLOSER_SHARE)

    texts = pc.binary_join_element_wise(
        *(_prefixed("", seg, " ") for seg in (leading, opener, trailing, name, contact, number)),
        closer,
        "",
        null_handling="replace",
        null_replacement="",
    )
    texts = pc.utf8_rtrim_whitespace(texts)
    return pc.if_else(pa.array(has_text), texts, pa.nulls(n, pa.string()))


def _masked(indices: npt.NDArray[np.integer], keep: npt.NDArray[np.bool_]) -> pa.Array:
    return pa.array(indices.astype(np.int64), mask=~keep)


def _take(pool: pa.Array, indices: IntArray) -> pa.Array:
    """``pool[indices]``, null where an index is negative."""
    return pool.take(pa.array(np.maximum(indices, 0), mask=indices < 0))


def _draw(rng: np.random.Generator, pool: pa.Array, where: npt.NDArray[np.bool_]) -> pa.Array:
    """A random member of ``pool`` on rows ``where`` holds, null elsewhere."""
    return pool.take(_masked(rng.integers(0, len(pool), size=len(where)), where))


def _prefixed(prefix: str, values: pa.Array, suffix: str = "") -> pa.Array:
    return pc.binary_join_element_wise(prefix, values, suffix, "", null_handling="emit_null")


def _join(parts: list[pa.Array], sep: str = " ") -> pa.Array:
    """Join non-null parts with ``sep``; null where the first part is null.

    (``null_handling="skip"`` is avoided: pyarrow 26 drops rows whose inputs are all null.)
    """
    spaced = [parts[0], *(_prefixed(sep, part) for part in parts[1:])]
    joined = pc.binary_join_element_wise(*spaced, "", null_handling="replace", null_replacement="")
    return pc.if_else(pc.is_null(parts[0]), pa.nulls(len(joined), pa.string()), joined)


def _emails(
    rng: np.random.Generator, where: npt.NDArray[np.bool_], member_emails: pa.Array
) -> pa.Array:
    """Addresses of people talked about, of members (three in ten), or short forms."""
    n = len(where)
    source = rng.choice(
        3, size=n, p=(0.6, 0.3 if len(member_emails) else 0.0, 0.1 if len(member_emails) else 0.4)
    )
    people = _PEOPLE_EMAIL_POOL.take(
        _masked(rng.choice(len(PEOPLE), size=n, p=_PEOPLE_P), where & (source == 0))
    )
    members = member_emails.take(
        _masked(rng.integers(0, max(len(member_emails), 1), size=n), where & (source == 1))
    )
    short = _SHORT_EMAIL_POOL.take(
        _masked(rng.integers(0, len(_SHORT_EMAIL_POOL), size=n), where & (source == 2))
    )
    return pc.coalesce(people, members, short)


def _phones(rng: np.random.Generator, where: npt.NDArray[np.bool_]) -> pa.Array:
    """Phone numbers in French, US, UK, German, Irish, Dutch and Brazilian styles."""
    n = len(where)
    rows = np.flatnonzero(where)
    style = rng.integers(0, 7, size=len(rows))
    d = rng.integers(0, 100, size=(len(rows), 4))
    area = rng.integers(200, 1000, size=len(rows))
    tail = rng.integers(1_000_000, 10_000_000, size=len(rows))
    formats = (
        lambda i: f"+33 6 {d[i, 0]:02d} {d[i, 1]:02d} {d[i, 2]:02d} {d[i, 3]:02d}",
        lambda i: f"({area[i]}) {tail[i] // 10_000:03d}-{tail[i] % 10_000:04d}",
        lambda i: f"020 {tail[i] // 1000:04d} {tail[i] % 1000 * 10 + d[i, 0] % 10:04d}",
        lambda i: f"+49-30-{tail[i]}",
        lambda i: f"+353 87 {tail[i] // 10_000:03d} {tail[i] % 10_000:04d}",
        lambda i: f"06-{d[i, 0]:02d}{d[i, 1]:02d}{d[i, 2]:02d}{d[i, 3]:02d}",
        lambda i: f"+55 11 9{tail[i] // 1000:04d}-{tail[i] % 1000:03d}{d[i, 0] % 10}",
    )
    numbers = _pool([formats[s](i) for i, s in enumerate(style)])
    positions = np.full(n, -1, dtype=np.int64)
    positions[rows] = np.arange(len(rows))
    return _take(numbers, positions)
