"""EXPLAIN the exact statements Accord's TAXII objects endpoint issues (compiled from service._filtered)."""
import sys, time, random
from sqlalchemy import select, text
from accord.db import make_engine, make_sessionmaker
from accord.sharing import service
from accord.sharing.models import StixObject
from accord.auth.models import User

url = sys.argv[1]
eng = make_engine(url)
S = make_sessionmaker(eng)
with S() as s:
    coll = service.list_collections(s)[0]
    user = s.scalar(select(User).where(User.username == "bench"))
    rdr = service.reader(s, user, coll)
    print("reader:", rdr.party_id, rdr.member, len(rdr.recipient_shares), "recipient shares")
    ids = [r for (r,) in s.execute(select(StixObject.stix_id).where(StixObject.collection_id == coll.id).order_by(StixObject.id.desc()).limit(50))]
    ids_old = [r for (r,) in s.execute(select(StixObject.stix_id).where(StixObject.collection_id == coll.id).order_by(StixObject.id).limit(50))]
    cases = {
        "match[id]": service.ObjectQuery(ids=[ids[0]]),
        "match[type]": service.ObjectQuery(types=["indicator"]),
        "unfiltered": service.ObjectQuery(),
    }
    dialect = eng.dialect.name
    for name, q in cases.items():
        stmt = service._filtered(coll, rdr, q).order_by(StixObject.date_added, StixObject.id).limit(1001)
        comp = stmt.compile(eng, compile_kwargs={"literal_binds": True})
        sql = str(comp)
        print("\n=====", name, "\n", sql[:1500])
        ex = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
        for row in s.execute(text(ex + sql)):
            print("  ", row)
    # timing of match[id] for newest vs oldest ids (DB only, no HTTP)
    for label, pool in (("newest ids", ids), ("oldest ids", ids_old)):
        lat = []
        for oid in pool:
            stmt = service._filtered(coll, rdr, service.ObjectQuery(ids=[oid])).order_by(StixObject.date_added, StixObject.id).limit(1001)
            t0 = time.perf_counter(); rows = list(s.scalars(stmt)); lat.append(time.perf_counter() - t0)
            assert len(rows) == 1
        lat.sort()
        print("DB-only match[id] %s: p50 %.2f ms p95 %.2f ms" % (label, lat[25] * 1e3, lat[47] * 1e3))
    lat = []
    for oid in ids[:20]:
        t0 = time.perf_counter(); rdr2 = service.reader(s, user, coll); lat.append(time.perf_counter() - t0)
    lat.sort(); print("service.reader(): p50 %.2f ms" % (lat[10] * 1e3))
