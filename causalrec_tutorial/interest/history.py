r"""Behaviour → text: a user's events as a readable, deterministic prompt, and item texts for the encoder.
Book: 03_interest_extraction.ipynb, sec-interest-text

The event weights (:data:`EVENT_WEIGHTS`) are shared by every pooling method.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import check_columns, check_int

__all__ = ["EVENT_WEIGHTS", "clean_title", "item_texts", "serialize_history"]


EVENT_WEIGHTS: dict[str, float] = {"view": 0.2, "click": 1.0, "purchase": 2.0}
_VERBS = {"view": "viewed", "click": "clicked", "purchase": "bought", "rating": "rated"}
_EVENT_ORDER = {"view": 0, "click": 1, "purchase": 2}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_title(title: Any, max_chars: int = 80) -> str:
    """A title made safe for a one-line prompt: control characters and line breaks become spaces, white space
    collapses, Unicode is NFC-normalised, and a title longer than ``max_chars`` is cut and ends with ``…``.

    Raises:
        TypeError: if ``title`` is not a string.

    Book: 03_interest_extraction.ipynb, sec-interest-text
    """
    if not isinstance(title, str):
        raise TypeError(f"a title must be a str, got {type(title).__name__}")
    max_chars = check_int("max_chars", max_chars, 2)
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", title)).split())
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text or "(untitled)"


def _age_text(days: float) -> str:
    if days < 1:
        return "today"
    n = int(days)
    if n < 14:
        return f"{n} day{'s' if n != 1 else ''} ago"
    weeks = n // 7
    return f"{weeks} weeks ago"


def serialize_history(
    events: pd.DataFrame,
    titles: Mapping[int, str] | pd.Series,
    now: pd.Timestamp | None = None,
    max_events: int = 20,
    include_views: bool = True,
    extra: Mapping[int, str] | pd.Series | None = None,
) -> str:
    """One user's behaviour as a readable prompt: one line per event, most recent first, with its age.

    Example line: ``3. bought "Zanoli Premium Tempo Trainers" (running), 2 days ago``. Events are ordered by time
    (newest first), then by kind (purchase, click, view), then by item id, so the same events always give the same
    text. Titles are cleaned with :func:`clean_title` and quoted with ``json.dumps`` (inner quotes and backslashes
    are escaped, non-ASCII characters kept).

    Args:
        events: the user's events with columns ``item_id``, ``event`` (``view`` / ``click`` / ``purchase``, or
            any other label, shown as is) and optionally ``timestamp``.
        titles: item id → title (a dict or a Series indexed by item id).
        now: the reference time for "N days ago" (default: the latest event's time); ignored without timestamps.
        max_events: at most this many lines (the most recent ones).
        include_views: keep impressions (``view`` events); they are the old recommender's choice more than the
            user's, so a prompt may leave them out.
        extra: optional item id → short note written in brackets after the title (e.g. the category or genres).

    Returns:
        The text; ``"(no recorded activity)"`` when no event is left.

    Raises:
        ValueError: if a column is missing, ``max_events < 1``, or an item id has no title (the id is named).

    Book: 03_interest_extraction.ipynb, sec-interest-text
    """
    check_columns(events, "events", [C.ITEM, C.EVENT], allow_empty=True)
    if not isinstance(titles, (Mapping, pd.Series)):
        raise TypeError(f"titles must map item id -> title (a dict or a Series), got {type(titles).__name__}")
    check_int("max_events", max_events)
    df = events if include_views else events[events[C.EVENT] != "view"]
    if df.empty:
        return "(no recorded activity)"
    has_time = C.TIMESTAMP in df.columns
    kind_rank = df[C.EVENT].map(lambda e: -_EVENT_ORDER.get(e, -1)).to_numpy()
    keys = [df[C.ITEM].to_numpy(), kind_rank]
    if has_time:
        t = pd.to_datetime(df[C.TIMESTAMP]).to_numpy()
        keys.append(-(t - t.min()).astype("timedelta64[s]").astype(np.int64))
    order = np.lexsort(keys)[:max_events]
    rows = df.iloc[order]
    if has_time:
        ref = pd.Timestamp(now) if now is not None else pd.to_datetime(df[C.TIMESTAMP]).max()
    lines = []
    for j, (_, row) in enumerate(rows.iterrows(), start=1):
        item = int(row[C.ITEM])
        try:
            title = titles[item]
        except (KeyError, IndexError):
            raise ValueError(f"item id {item} has no title") from None
        verb = _VERBS.get(row[C.EVENT], str(row[C.EVENT]))
        line = f"{j}. {verb} {json.dumps(clean_title(title), ensure_ascii=False)}"
        if extra is not None and item in extra:
            line += f" ({clean_title(str(extra[item]), 60)})"
        if has_time:
            line += ", " + _age_text((ref - pd.Timestamp(row[C.TIMESTAMP])).total_seconds() / 86400)
        lines.append(line)
    return "\n".join(lines)


def item_texts(items: pd.DataFrame) -> list[str]:
    """The text to embed per item, in row order: ``title. description`` for the shop, ``title (year): genres`` for
    MovieLens (genres with ``|`` written as ``, ``), the title alone otherwise.

    Raises:
        ValueError: if ``items`` has no ``title`` column.

    Book: 03_interest_extraction.ipynb, sec-interest-embeddings
    """
    if C.TITLE not in items.columns:
        raise ValueError(f"items needs a {C.TITLE!r} column; it has {list(items.columns)}")
    titles = items[C.TITLE].map(clean_title)
    if C.DESCRIPTION in items.columns:
        return (titles + ". " + items[C.DESCRIPTION].astype(str)).tolist()
    if C.GENRES in items.columns:
        years = items[C.YEAR].map(lambda y: "" if pd.isna(y) else f" ({int(y)})") if C.YEAR in items.columns else ""
        genres = items[C.GENRES].fillna("").str.replace("|", ", ", regex=False)
        return (titles + years + ": " + genres).tolist()
    return titles.tolist()
