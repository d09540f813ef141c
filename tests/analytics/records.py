"""Writing a constructed :class:`~accord.analytics.dyads.Data` record into the test database (flushed, never
committed: the test's session rolls it back), shared by the dyad and tension tests."""

from __future__ import annotations

from typing import Any

from accord.analytics.dyads import Data
from accord.incidents.models import Attribution, Incident, IncidentReceiver, Response


def write(session: Any, data: Data, unique: str, what: str) -> dict[int, int]:
    """Incidents (with their receivers), attributions and responses of ``data``; joint groups made unique to
    this test. Returns record incident id → database id."""
    ids = {}
    for inc in data.incidents:
        row = Incident(
            slug=f"{what}-{unique}-{inc.id}",
            name=f"Constructed {what} incident {inc.id}",
            operation_type=inc.operation_type,
            intensity=inc.intensity,
            start_date=inc.start_date,
            disclosure_date=inc.disclosure_date,
            date_precision=inc.date_precision,
        )
        row.receivers = [
            IncidentReceiver(state_code=r.state_code, category=r.category, sector=r.sector)
            for r in data.receivers
            if r.incident_id == inc.id
        ]
        session.add(row)
        session.flush()
        ids[inc.id] = row.id
    for a in data.attributions:
        fields = a._asdict() | {"incident_id": ids[a.incident_id], "basis": "receiver_government"}
        fields.pop("id")
        fields["joint_group"] = a.joint_group and f"{a.joint_group}-{unique}"
        session.add(Attribution(**fields))
    for r in data.responses:
        fields = r._asdict() | {"incident_id": ids[r.incident_id]}
        fields.pop("id")
        session.add(Response(**fields))
    session.flush()
    return ids
