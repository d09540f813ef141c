"""The state profile: one state's memberships, commitments, incident record and contacts, gathered."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from accord.core import records
from accord.directory import service as directory
from accord.directory.schemas import AgencyOut, PointOfContactOut, StateOut
from accord.incidents import service as incidents
from accord.norms import service as norms


def state_profile(session: Session, code: str, *, include_contacts: bool = True) -> dict[str, Any]:
    state = records.get_record(session, directory.STATES, code)
    profile: dict[str, Any] = {
        "state": StateOut.model_validate(state).model_dump(mode="json"),
        "memberships": directory.memberships_of(session, code),
        "commitments": norms.commitments_of(session, code),
        "agencies": [AgencyOut.model_validate(a).model_dump(mode="json") for a in directory.agencies_of(session, code)],
    }
    if include_contacts:
        profile["points_of_contact"] = [
            PointOfContactOut.model_validate(p).model_dump(mode="json") for p in directory.contacts_of(session, code)
        ]
    profile.update(incidents.record_of_state(session, code))
    return profile
