"""A request as the handlers see it, their answer, and the list helpers (filters, order, pages) Flow Service
shares.

Lists (EN help/dataflows/api/sort-and-filter.md): `property=` filters AND together, each `field==value` or
`field!=value` on a dotted field path (a list field matches when it contains the value);
`orderby=+field|-field`
(default: `createdAt` ascending, id as the tie-break); `limit` (default 100); pages continue through
`_links.next.href`, an absolute URL carrying an opaque `continuationToken`; `count=true` answers `{"count":
n}`
and cannot be combined with `limit` (400).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .state import ApiError

DEFAULT_LIMIT = 100


@dataclass
class Call:
    """One request: headers have lower-case names; `query` is decoded once (parse_qs); `params` from the
    route."""

    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str]
    family: str
    request_id: str
    base_url: str
    sandbox: str = ""
    client_id: str = ""
    ims_org: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The JSON body; raises ApiError 400 when it is missing or not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise ApiError(400, self.family, _bad_request_code(self.family), f"malformed JSON body: {exc}") from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(400, self.family, _bad_request_code(self.family), "the body must be a JSON object")
        return body


def _bad_request_code(family: str) -> str:
    return {
        "flow": "FLOW-1400-400",
        "xdm": "XDM-1000-400",
        "catalog": "400",
        "dataprep": "MAPPER-1400-400",
    }.get(family, "400")


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def dotted(obj: Any, path: str) -> Any:
    """The value at a dotted path (`flowSpec.id`), or None."""
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def _predicate(expr: str, family: str) -> Callable[[dict[str, Any]], bool]:
    for op in ("!=", "=="):
        if op in expr:
            name, value = expr.split(op, 1)
            name = name.strip()

            def test(obj: dict[str, Any], name: str = name, value: str = value, negate: bool = op == "!=") -> bool:
                found = dotted(obj, name)
                hit = value in [str(v) for v in found] if isinstance(found, list) else str(found) == value
                return hit != negate

            return test
    raise ApiError(400, family, _bad_request_code(family), f"unsupported property filter {expr!r} (use == or !=)")


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str, family: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, family, _bad_request_code(family), "invalid continuationToken") from None


def list_page(call: Call, objects: list[dict[str, Any]], default_orderby: str = "+createdAt") -> Reply:
    """Filter, order and page `objects` as Flow Service lists do: `{"items": [...], "_links": {...}}`."""
    family = call.family
    predicates = [_predicate(expr, family) for expr in call.query.get("property", [])]
    selected = [o for o in objects if all(p(o) for p in predicates)]
    orderby = call.arg("orderby") or default_orderby
    descending = orderby.startswith("-")
    key = orderby.lstrip("+- ") or "createdAt"

    def sort_key(o: dict[str, Any]) -> tuple[int, float, str, str]:
        value = dotted(o, key)
        if value is None:
            return (0, 0.0, "", o.get("id", ""))
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (1, float(value), "", o.get("id", ""))
        return (2, 0.0, json.dumps(value), o.get("id", ""))

    selected.sort(key=sort_key, reverse=descending)
    limit_arg = call.arg("limit")
    if (call.arg("count") or "").lower() == "true":
        if limit_arg is not None:
            raise ApiError(400, family, _bad_request_code(family), "count=true cannot be combined with limit")
        return Reply(200, {"count": len(selected)})
    try:
        limit = int(limit_arg) if limit_arg is not None else DEFAULT_LIMIT
        if limit < 1:
            raise ValueError
    except ValueError:
        raise ApiError(400, family, _bad_request_code(family), f"invalid limit {limit_arg!r}") from None
    token = call.arg("continuationToken")
    offset = _decode_token(token, family) if token else 0
    page = selected[offset : offset + limit]
    links: dict[str, Any] = {}
    if offset + limit < len(selected):
        pairs = [(k, v) for k, vs in call.query.items() if k != "continuationToken" for v in vs]
        pairs.append(("continuationToken", _encode_token(offset + limit)))
        links["next"] = {"href": f"{call.base_url}{call.path}?{urlencode(pairs)}"}
    return Reply(200, {"items": page, "_links": links})
