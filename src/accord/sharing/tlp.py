"""Traffic Light Protocol 2.0 as the server enforces it: marking ids, levels, and who may see what.

This module is the one place that decides visibility. Every face that reveals shared objects — TAXII,
the REST API, pages, search, exports, federation — asks it (``visibility_clause`` in queries,
``allowed_levels`` and ``redact`` for granular markings).

    level          who may see an object shared into collection C by producer P
    clear          anyone the node serves (any signed-in user or peer)
    green          members of C's community
    amber          the share's recipient organisations and the clients they declare
    amber+strict   the share's recipient organisations only
    red            only the named recipients of that share
    (the producing organisation always sees what it shared)

Unmarked objects take the node setting ``sharing_unmarked_tlp`` (default: red, the restrictive choice).
Several TLP markings on one object: the most restrictive wins.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("clear", "green", "amber", "amber+strict", "red")
RANK = {level: i for i, level in enumerate(LEVELS)}

# STIX marking-definition ids (TLP 2.0 via the extension definition, and the STIX 2.1 TLP 1.0 ids)
TLP2_IDS = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}
TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
MARKING_LEVELS = {**TLP1_IDS, **TLP2_IDS}
TLP2_BY_LEVEL = {level: mid for mid, level in TLP2_IDS.items()}


def most_restrictive(levels: Iterable[str]) -> str | None:
    found = [lv for lv in levels if lv in RANK]
    return max(found, key=RANK.__getitem__) if found else None


def object_level(obj: dict[str, Any], unmarked: str) -> str:
    """The TLP level of a whole object, from its ``object_marking_refs``."""
    level = most_restrictive(MARKING_LEVELS.get(ref, "") for ref in obj.get("object_marking_refs") or ())
    return level or unmarked


@dataclass(frozen=True)
class Reader:
    """Who is reading: their organisation (party) and what the policy needs to know about it.

    ``member``: the party belongs to the community of the collection being read.
    ``recipient_shares``: shares with the party among their recipients (AMBER, AMBER+STRICT);
    ``named_shares``: shares whose sharer named the party (also RED); ``client_shares``: shares whose
    recipients declared the party as a client (AMBER only).
    """

    party_id: int | None
    member: bool = False
    recipient_shares: frozenset[int] = field(default_factory=frozenset)
    client_shares: frozenset[int] = field(default_factory=frozenset)
    named_shares: frozenset[int] = field(default_factory=frozenset)

    def allowed_levels(self, share_id: int | None, producer_party_id: int | None) -> frozenset[str]:
        """Levels this reader may see in one share (object-level or granular)."""
        if self.party_id is not None and producer_party_id == self.party_id:
            return frozenset(LEVELS)
        allowed = {"clear"}
        if self.member:
            allowed.add("green")
        if share_id is not None and share_id in self.recipient_shares:
            allowed |= {"amber", "amber+strict"}
        if share_id is not None and share_id in self.named_shares:
            allowed |= {"amber", "amber+strict", "red"}
        if share_id is not None and share_id in self.client_shares:
            allowed.add("amber")
        return frozenset(allowed)

    def may_see(self, level: str, share_id: int | None, producer_party_id: int | None) -> bool:
        return level in self.allowed_levels(share_id, producer_party_id)


def visibility_clause(reader: Reader, model: Any) -> Any:
    """SQL predicate over stored object rows (``tlp``, ``share_id``, ``producer_party_id``) for ``reader``."""
    from sqlalchemy import and_, false, or_

    clauses = [model.tlp == "clear"]
    if reader.member:
        clauses.append(model.tlp == "green")
    if reader.party_id is not None:
        clauses.append(model.producer_party_id == reader.party_id)
    if reader.recipient_shares:
        clauses.append(
            and_(model.tlp.in_(("amber", "amber+strict")), model.share_id.in_(sorted(reader.recipient_shares)))
        )
    if reader.named_shares:
        clauses.append(and_(model.tlp == "red", model.share_id.in_(sorted(reader.named_shares))))
    if reader.client_shares:
        clauses.append(and_(model.tlp == "amber", model.share_id.in_(sorted(reader.client_shares))))
    return or_(*clauses) if clauses else false()


# ---------------------------------------------------------------- granular markings


def _remove(target: Any, path: list[str]) -> None:
    """Remove the property/element a granular-marking selector names (``a.b.[0].c``)."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if head.startswith("[") and head.endswith("]"):
        if not isinstance(target, list):
            return
        try:
            index = int(head[1:-1])
        except ValueError:
            return
        if 0 <= index < len(target):
            if rest:
                _remove(target[index], rest)
            else:
                target[index] = None  # keep positions of the other elements stable
        return
    if not isinstance(target, dict) or head not in target:
        return
    if rest:
        _remove(target[head], rest)
    else:
        del target[head]


def _selector_path(selector: str) -> list[str]:
    out: list[str] = []
    for part in selector.split("."):
        while "[" in part and not part.startswith("["):
            name, _, tail = part.partition("[")
            out.append(name)
            part = "[" + tail
        out.append(part)
    return out


def redact(obj: dict[str, Any], allowed: frozenset[str], unmarked: str | None = None) -> dict[str, Any]:
    """A copy of ``obj`` without the fields whose granular TLP marking the reader may not see."""
    markings = obj.get("granular_markings") or ()
    hidden = [g for g in markings if MARKING_LEVELS.get(g.get("marking_ref", ""), "clear") not in allowed]
    if not hidden:
        return obj
    out = copy.deepcopy(obj)
    for marking in hidden:
        for selector in marking.get("selectors") or ():
            _remove(out, _selector_path(selector))
    # the reader learns nothing from markings whose fields were removed
    out["granular_markings"] = [g for g in markings if g not in hidden]
    if not out["granular_markings"]:
        del out["granular_markings"]
    return out
