"""The case ledger: append-only, hash-chained, every entry signed by the node.

``hash_n = SHA-256(hash_{n-1} || canonical JSON {case, seq, kind, at, actor, data})`` with ``hash_0`` = 64
zeros; ``signature_n`` = Ed25519 over the ASCII of ``hash_n`` (base64url, no padding), by key ``kid``. The
case row keeps the last seq and hash, so cutting entries off the end shows too. Verification recomputes
every hash, checks the chain links, the sequence, each signature against the node's known keys, and the
head — any edited, reordered, inserted or removed entry fails it, and the failing entry is named.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.crisis.identity import Identity
from accord.crisis.models import Case, LedgerEntry

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def entry_hash(prev_hash: str, case_uid: str, seq: int, kind: str, at: str, actor: str, data: Any) -> str:
    body = canonical({"case": case_uid, "seq": seq, "kind": kind, "at": at, "actor": actor, "data": data})
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def append(
    session: Session, case: Case, kind: str, actor: str, data: dict[str, Any], identity: Identity, at: dt.datetime
) -> LedgerEntry:
    """Add one signed entry at the end of the case's chain (the case row is locked while doing so)."""
    locked = select(Case).where(Case.id == case.id).with_for_update()
    session.execute(locked)
    session.refresh(case)
    seq = case.ledger_seq + 1
    prev = case.ledger_head or GENESIS
    stamp = iso(at)
    data = json.loads(canonical(data))  # exactly what will be read back
    digest = entry_hash(prev, case.uid, seq, kind, stamp, actor, data)
    entry = LedgerEntry(
        case_id=case.id,
        seq=seq,
        kind=kind,
        at=stamp,
        actor=actor,
        data=data,
        prev_hash=prev,
        hash=digest,
        kid=identity.key_id,
        signature=_b64(identity.private_key.sign(digest.encode())),
    )
    session.add(entry)
    case.ledger_seq = seq
    case.ledger_head = digest
    session.flush()
    return entry


def entries(session: Session, case: Case) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.case_id == case.id).order_by(LedgerEntry.seq)))


@dataclass
class Verification:
    case_uid: str
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"ledger of case {self.case_uid}: {self.entries} entries, chain and signatures verified"
        return f"ledger of case {self.case_uid}: TAMPERED — " + "; ".join(self.problems)


def verify(session: Session, case: Case, keys: dict[str, Ed25519PublicKey]) -> Verification:
    result = Verification(case.uid)
    prev = GENESIS
    rows = entries(session, case)
    result.entries = len(rows)
    for expected_seq, row in enumerate(rows, start=1):
        where = f"entry {row.seq}"
        if row.seq != expected_seq:
            result.problems.append(f"{where}: expected sequence number {expected_seq} (entries missing or inserted)")
        if row.prev_hash != prev:
            result.problems.append(f"{where}: does not link to the previous entry")
        digest = entry_hash(row.prev_hash, case.uid, row.seq, row.kind, row.at, row.actor, row.data)
        if digest != row.hash:
            result.problems.append(f"{where}: content altered (hash mismatch)")
        key = keys.get(row.kid)
        if key is None:
            result.problems.append(f"{where}: signed by an unknown key {row.kid[:16]}")
        else:
            try:
                key.verify(_unb64(row.signature), row.hash.encode())
            except (InvalidSignature, ValueError):
                result.problems.append(f"{where}: signature does not verify")
        prev = row.hash
    if case.ledger_seq != len(rows) or (rows and case.ledger_head != rows[-1].hash):
        result.problems.append(
            f"the case records {case.ledger_seq} entries (head {case.ledger_head[:12]}), the ledger has {len(rows)}"
        )
    return result
