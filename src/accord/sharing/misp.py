"""MISP interoperability through the ``misp-stix`` library (MISP project, BSD-3-Clause).

Two pure conversions, for the store to call; the MISP <-> STIX mapping itself is misp-stix's, not ours:

* :func:`misp_event_to_stix` — one MISP event (JSON, with or without the ``{"Event": ...}`` wrapper)
  to a list of STIX 2.1 objects, with ``misp_stix_converter.MISPtoSTIX21Parser``.
* :func:`stix_to_misp_events` — STIX 2.1 objects (a collection's contents) to MISP events, with
  misp-stix's STIX 2 importers (``InternalSTIX2toMISPParser`` for content that misp-stix exported,
  ``ExternalSTIX2toMISPParser`` for any other producer), one event per report / grouping, else one
  event for the lot.

TLP, as misp-stix maps it (misp-stix 2026.10.12):

    MISP tag            STIX marking-definition emitted by misp-stix
    tlp:white           TLP 1.0 white  marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9
    tlp:clear           TLP 2.0 clear  marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487
    tlp:green           TLP 1.0 green  marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da
    tlp:amber           TLP 1.0 amber  marking-definition--f88d31f6-486f-44da-b317-01333bde0b82
    tlp:amber+strict    TLP 2.0 amber+strict  marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003
    tlp:red             TLP 1.0 red    marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed

i.e. the four colours TLP 1.0 already had keep their STIX TLP 1.0 ids, and only the two TLP 2.0
newcomers get TLP 2.0 ids. We keep the ids and the marking-definition objects misp-stix emits
(:mod:`accord.sharing.tlp` understands both id sets). On the way back misp-stix reads both id
sets (TLP 1.0 by ``definition``, TLP 2.0 by ``name`` or by the well-known id when the definition
object is not in the input) into ``tlp:<colour>`` tags; TLP 2.0 green/amber/red come back as
``tlp:green`` / ``tlp:amber`` / ``tlp:red`` and TLP 1.0 white as ``tlp:white``.

misp-stix puts an event's tags on the report (published event) or grouping (unpublished) only, and
an attribute's own TLP tag on that attribute's indicator / observed-data only. STIX markings do not
flow along ``object_refs``, so a store that enforces TLP per object would see the contents of a
``tlp:red`` event as unmarked. :func:`misp_event_to_stix` therefore (``propagate_tlp=True``, the
default) gives every object that has no TLP marking of its own the TLP of what carries it: an
observable (SCO) takes the most restrictive TLP of the observed-data referencing it, a relationship
the most restrictive of its source, target and the event, anything else the event's TLP.
Identities and marking definitions are shared context and are left as misp-stix made them.

Malformed input raises :class:`ValueError` with a one-line reason. With ``strict=True`` (default)
any record misp-stix reports it could not convert is an error too, rather than a silent loss.

Importing ``misp_stix_converter`` installs mixbox's vendored ``six`` importer in ``sys.meta_path``,
which makes Python 3.11 warn ``ImportWarning: _SixMetaPathImporter.find_spec() not found; falling
back to find_module()`` on every import that the regular finders cannot resolve. We import it lazily
(on the first conversion) and silence that warning around our own import; a process that makes
warnings errors needs the same filter for the imports that come after.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import uuid
import warnings
from types import ModuleType
from typing import Any

from accord.sharing.tlp import MARKING_LEVELS, RANK

__all__ = ["misp_event_to_stix", "stix_to_misp_events", "MISP_STIX_SIX_WARNING"]

log = logging.getLogger(__name__)

#: message regex of the ImportWarning caused by mixbox's vendored six (for warning filters)
MISP_STIX_SIX_WARNING = r"_SixMetaPathImporter\.find_spec\(\) not found"

# misp-stix messages that are not a loss of content: MISP event JSON without an ``Orgc`` block is
# still converted in full (the STIX objects simply have no ``created_by_ref``), and the note that
# the STIX 2 importer was chosen from the content (we let misp-stix detect it unless told).
_BENIGN_MESSAGES = (
    re.compile(r"^Missing Orgc field"),
    re.compile(r"^Missing .* in the Orgc field"),
    re.compile(r"^The (Internal|External) parser was selected from the document content"),
)

_CONTAINER_TYPES = ("report", "grouping")
_SHARED_CONTEXT_TYPES = ("marking-definition", "identity", "extension-definition", "language-content")

_converter: ModuleType | None = None


def _misp_stix() -> ModuleType:
    """Import misp_stix_converter once, without letting mixbox's six importer warn about it."""
    global _converter
    if _converter is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=MISP_STIX_SIX_WARNING, category=ImportWarning)
            import misp_stix_converter

            _converter = misp_stix_converter
    return _converter


def _one_line(text: Any, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _messages(parser: Any) -> list[str]:
    """misp-stix's errors then warnings, flattened (they are dicts keyed by event / bundle id)."""
    out: list[str] = []
    for field in ("errors", "warnings"):
        recorded = getattr(parser, field, None) or {}
        values = recorded.values() if isinstance(recorded, dict) else [recorded]
        for group in values:
            out.extend(str(m) for m in (group if isinstance(group, (list, tuple, set)) else [group]))
    return out


def _losses(parser: Any) -> list[str]:
    return [m for m in _messages(parser) if not any(p.search(m) for p in _BENIGN_MESSAGES)]


def _is_tlp(ref: str) -> bool:
    return ref in MARKING_LEVELS


def _most_restrictive(refs: list[str]) -> list[str]:
    tlp = [r for r in refs if _is_tlp(r)]
    if not tlp:
        return []
    top = max(RANK[MARKING_LEVELS[r]] for r in tlp)
    return sorted({r for r in tlp if RANK[MARKING_LEVELS[r]] == top})


def _tlp_refs(obj: dict[str, Any]) -> list[str]:
    return [r for r in obj.get("object_marking_refs") or () if _is_tlp(r)]


# --------------------------------------------------------------------------- MISP -> STIX


def _check_misp_event(event: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise ValueError(f"a MISP event must be a JSON object, not {type(event).__name__}")
    if "response" in event:
        raise ValueError("a MISP restSearch response holds several events: convert them one by one")
    body = event.get("Event", event)
    if not isinstance(body, dict):
        raise ValueError(f"the 'Event' member must be a JSON object, not {type(body).__name__}")
    info = body.get("info")
    if not isinstance(info, str) or not info.strip():
        raise ValueError("not a MISP event: the 'info' field is missing or empty")
    for key in ("Attribute", "Object", "Tag", "Galaxy", "EventReport"):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise ValueError(f"the event's '{key}' member must be a list of JSON objects")
    for tag in body.get("Tag") or ():
        if not isinstance(tag.get("name"), str):
            raise ValueError("every event tag needs a 'name' string")
    for attribute in body.get("Attribute") or ():
        for key in ("type", "value"):
            if key not in attribute:
                raise ValueError(f"attribute {attribute.get('uuid', '?')} has no '{key}'")
        for tag in attribute.get("Tag") or ():
            if not isinstance(tag, dict) or not isinstance(tag.get("name"), str):
                raise ValueError(f"attribute {attribute.get('uuid', '?')} has a tag without a 'name' string")
    for obj in body.get("Object") or ():
        if not isinstance(obj.get("name"), str):
            raise ValueError(f"MISP object {obj.get('uuid', '?')} has no 'name'")
        attrs = obj.get("Attribute")
        if attrs is not None and (not isinstance(attrs, list) or not all(isinstance(a, dict) for a in attrs)):
            raise ValueError(f"MISP object {obj.get('uuid', '?')}: 'Attribute' must be a list of JSON objects")
    return {"Event": body}


def _propagate_tlp(objects: list[dict[str, Any]]) -> None:
    """Give unmarked objects the TLP of what carries them (see the module docstring)."""
    containers = [o for o in objects if o.get("type") in _CONTAINER_TYPES]
    event_tlp = _most_restrictive([r for c in containers for r in _tlp_refs(c)])
    by_id = {o["id"]: o for o in objects}
    inherited: dict[str, list[str]] = {}
    for obj in objects:
        if obj.get("type") != "observed-data":
            continue
        own = _tlp_refs(obj) or event_tlp
        for ref in obj.get("object_refs") or ():
            inherited.setdefault(ref, []).extend(own)
    for obj in objects:
        kind = obj.get("type")
        if kind in _SHARED_CONTEXT_TYPES or kind in _CONTAINER_TYPES or _tlp_refs(obj):
            continue
        if kind == "relationship":
            ends = [by_id.get(obj.get("source_ref"), {}), by_id.get(obj.get("target_ref"), {})]
            candidates = [r for end in ends for r in _tlp_refs(end)] + event_tlp
        elif obj["id"] in inherited:
            candidates = inherited[obj["id"]]
        else:
            candidates = event_tlp
        chosen = _most_restrictive(candidates)
        if chosen:
            obj["object_marking_refs"] = [*(obj.get("object_marking_refs") or []), *chosen]


def misp_event_to_stix(event: dict[str, Any], *, propagate_tlp: bool = True, strict: bool = True) -> list[dict]:
    """Convert one MISP event to STIX 2.1 objects (plain dicts) with misp-stix's STIX 2.1 exporter.

    The result holds misp-stix's report (published event) or grouping (unpublished), the producer's
    identity, indicators / observed-data / observables, galaxies' SDOs, relationships and the
    marking definitions of the event's TLP tags. ``propagate_tlp``: see the module docstring.
    ``strict``: raise ``ValueError`` when misp-stix drops an attribute or object it cannot load
    (otherwise those are logged and the rest is converted). The input is not modified.
    """
    wrapped = _check_misp_event(event)
    converter = _misp_stix()
    parser = converter.MISPtoSTIX21Parser()
    try:
        parser.parse_misp_event(copy.deepcopy(wrapped))
        objects = json.loads(parser.bundle.serialize()).get("objects") or []
    except ValueError as exc:
        raise ValueError(_one_line(f"misp-stix could not convert the event: {exc}")) from exc
    except Exception as exc:  # misp-stix assumes shapes; anything it trips on is a malformed event
        raise ValueError(_one_line(f"misp-stix could not convert the event: {type(exc).__name__}: {exc}")) from exc
    losses = _losses(parser)
    if not any(o.get("type") in _CONTAINER_TYPES for o in objects):
        reason = losses[0] if losses else "no report or grouping produced"
        raise ValueError(_one_line(f"misp-stix could not load the MISP event: {reason}"))
    if losses:
        if strict:
            raise ValueError(_one_line(f"misp-stix could not convert part of the event: {losses[0]}"))
        for message in losses:
            log.warning("MISP -> STIX: %s", _one_line(message))
    if propagate_tlp:
        _propagate_tlp(objects)
    return objects


# --------------------------------------------------------------------------- STIX -> MISP


def _check_stix_objects(objects: Any) -> list[dict[str, Any]]:
    if isinstance(objects, dict) and objects.get("type") == "bundle":
        objects = objects.get("objects")
    if not isinstance(objects, list):
        raise ValueError(f"expected a list of STIX objects, not {type(objects).__name__}")
    if not objects:
        raise ValueError("no STIX objects to convert")
    seen: set[tuple[str, Any]] = set()
    out = []
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict):
            raise ValueError(f"STIX object #{index} is not a JSON object")
        kind, oid = obj.get("type"), obj.get("id")
        if not isinstance(kind, str) or not isinstance(oid, str) or not oid.startswith(f"{kind}--"):
            raise ValueError(f"STIX object #{index} has no valid 'type' and 'id'")
        if kind == "bundle":
            raise ValueError(f"STIX object #{index} is a bundle: pass its objects")
        key = (oid, obj.get("modified"))
        if key in seen:  # the same version twice (e.g. a collection listing): keep one
            continue
        seen.add(key)
        out.append(obj)
    return out


def stix_to_misp_events(
    objects: list[dict[str, Any]] | dict[str, Any],
    *,
    classification: str | None = None,
    distribution: int = 0,
    single_event: bool = False,
    title: str | None = None,
    strict: bool = True,
) -> list[dict]:
    """Convert STIX 2.1 objects to MISP events (bare event dicts, JSON-able) with misp-stix's importers.

    One event per report or grouping (``single_event=True`` merges them; a record listed by several
    of the merged reports is kept once), or one event for the lot when there is none.
    ``classification``: ``"internal"`` (content misp-stix exported), ``"external"`` (any other
    producer) or ``None`` to let misp-stix detect it from the content. ``distribution``:
    MISP distribution level given to the events (0 = your organisation only, the restrictive default).
    ``strict``: raise ``ValueError`` if a STIX object cannot be read or converted; otherwise those are
    logged and the rest is converted. A full bundle dict is accepted too. The input is not modified.
    """
    if classification not in (None, "internal", "external"):
        raise ValueError("classification must be 'internal', 'external' or None")
    if distribution not in (0, 1, 2, 3, 4):
        raise ValueError("distribution must be a MISP distribution level 0-4")
    objs = _check_stix_objects(objects)
    converter = _misp_stix()
    from misp_stix_converter.tools import get_stix2_parser, is_stix2_from_misp, load_stix2_content

    bundle_dict = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": copy.deepcopy(objs)}
    try:
        bundle = load_stix2_content(bundle_dict)
    except Exception as exc:
        raise ValueError(_one_line(f"misp-stix could not load the STIX objects: {exc}")) from exc
    invalid = getattr(bundle, "_invalid_objects", None) or {}
    if invalid and strict:
        raise ValueError(_one_line(f"invalid STIX object {next(iter(invalid))}: stix2 could not parse it"))
    loaded = list(getattr(bundle, "objects", None) or [])
    if not loaded:
        raise ValueError("none of the STIX objects could be parsed")
    detected = bool(is_stix2_from_misp(loaded))
    from_misp = detected if classification is None else classification == "internal"
    parser_class, args = get_stix2_parser(
        from_misp,
        distribution,
        None,  # sharing group id
        title,
        None,  # producer
        False,  # force_contextual_data
        False,  # galaxies_as_tags
        single_event,
        converter.MISP_org_uuid,
        0,  # cluster distribution
        None,  # cluster sharing group id
    )
    parser = parser_class()
    try:
        parser.load_stix_bundle(bundle)
        parser.record_classification(detected, overridden=classification is not None)
        parser.parse_stix_bundle(**args)
        events = parser.misp_events
    except Exception as exc:
        reason = f"misp-stix could not convert the STIX objects: {type(exc).__name__}: {exc}"
        raise ValueError(_one_line(reason)) from exc
    events = events if isinstance(events, list) else [events]
    losses = _losses(parser)
    if losses:
        if strict:
            raise ValueError(_one_line(f"misp-stix could not convert part of the STIX content: {losses[0]}"))
        for message in losses:
            log.warning("STIX -> MISP: %s", _one_line(message))
    return [_dedupe(json.loads(event.to_json())) for event in events]


def _dedupe(event: dict[str, Any]) -> dict[str, Any]:
    """Keep one copy of a record misp-stix adds twice (an object listed by several merged reports)."""
    for key in ("Attribute", "Object"):
        records = event.get(key)
        if not records:
            continue
        seen: set[str] = set()
        kept = []
        for record in records:
            ident = record.get("uuid") or json.dumps(record, sort_keys=True)
            if ident in seen:
                continue
            seen.add(ident)
            kept.append(record)
        event[key] = kept
    return event
