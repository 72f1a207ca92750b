"""The simulator's Stripe accounts: the objects a Stripe key can list, per resource path, and Stripe's list
envelope (Stripe API reference, "Pagination": `{"object": "list", "url", "has_more", "data"}`, newest first by
`created`, the next page asked for with `starting_after=<last id of this page>`, `limit` 1..100, default 10).

An account is keyed by its Stripe secret key (the key a base connection carries). A path nobody seeded holds
the generated samples of stripe_data.py (three objects), so the demo and older tests see data.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from .state import State
from .stripe_data import RESOURCE_PATHS, sample_rows

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def account_objects(state: State, key: str, path: str) -> list[dict[str, Any]]:
    """The objects of one path of an account (live list; seeded, else the default samples)."""
    if path not in RESOURCE_PATHS:
        raise ValueError(f"unknown Stripe resource path {path!r}; expected one of {list(RESOURCE_PATHS)}")
    paths = state.stripe_accounts.setdefault(key, {})
    if path not in paths:
        paths[path] = sample_rows(path)
    return paths[path]


def seed(state: State, key: str, objects: Mapping[str, Iterable[Mapping[str, Any]]], *, replace: bool) -> None:
    """Put Stripe objects into an account: `{path: [object, ...]}`. Each object needs a string `id`, unique in
    its path. `replace` drops what the path held (else objects are added, an existing id replaced).

    Raises ValueError (nothing changed) for an unknown path or an object without a string id."""
    checked: dict[str, list[dict[str, Any]]] = {}
    for path, items in objects.items():
        if path not in RESOURCE_PATHS:
            raise ValueError(f"unknown Stripe resource path {path!r}; expected one of {list(RESOURCE_PATHS)}")
        rows = [copy.deepcopy(dict(item)) for item in items]
        for row in rows:
            if not isinstance(row.get("id"), str) or not row["id"]:
                raise ValueError(f"{path}: every Stripe object needs a string 'id', got {row.get('id')!r}")
        checked[path] = rows
    for path, rows in checked.items():
        current = [] if replace else account_objects(state, key, path)
        by_id = {row["id"]: i for i, row in enumerate(current)}
        for row in rows:
            if row["id"] in by_id:
                current[by_id[row["id"]]] = row
            else:
                by_id[row["id"]] = len(current)
                current.append(row)
        state.stripe_accounts.setdefault(key, {})[path] = current


def newest_first(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stripe's list order: `created` descending; later-added first among equals."""
    indexed = list(enumerate(objects))
    indexed.sort(key=lambda pair: (_created(pair[1]), pair[0]), reverse=True)
    return [obj for _, obj in indexed]


def _created(obj: Mapping[str, Any]) -> int:
    value = obj.get("created")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def list_page(
    objects: list[dict[str, Any]], path: str, *, limit: int = DEFAULT_LIMIT, starting_after: str | None = None
) -> dict[str, Any]:
    """One page of `GET /v1/{path}` as Stripe answers it (deep copies). Raises ValueError for a limit outside
    1..100 or an unknown `starting_after` id (Stripe answers 400 resource_missing)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    ordered = newest_first(objects)
    start = 0
    if starting_after is not None:
        ids = [obj["id"] for obj in ordered]
        if starting_after not in ids:
            raise ValueError(f"No such object: '{starting_after}'")
        start = ids.index(starting_after) + 1
    page = ordered[start : start + limit]
    return {
        "object": "list",
        "url": f"/v1/{path}",
        "has_more": start + limit < len(ordered),
        "data": copy.deepcopy(page),
    }


def read_all(objects: list[dict[str, Any]], path: str, page_size: int = MAX_LIMIT) -> tuple[list[dict[str, Any]], int]:
    """Every object, reading page after page as a Stripe client does: (objects newest first, pages read)."""
    out: list[dict[str, Any]] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = list_page(objects, path, limit=page_size, starting_after=cursor)
        pages += 1
        out.extend(page["data"])
        if not page["has_more"] or not page["data"]:
            return out, pages
        cursor = page["data"][-1]["id"]
