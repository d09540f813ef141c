import sys, time
from sqlalchemy import select, text, and_, or_, tuple_
from accord.db import make_engine, make_sessionmaker
from accord.sharing import service
from accord.sharing.models import StixObject
from accord.auth.models import User
eng = make_engine(sys.argv[1]); S = make_sessionmaker(eng)
with S() as s:
    coll = service.list_collections(s)[0]
    user = s.scalar(select(User).where(User.username == "bench"))
    rdr = service.reader(s, user, coll)
    mid = s.execute(select(StixObject.date_added, StixObject.id).where(StixObject.collection_id == coll.id, StixObject.type == "indicator").order_by(StixObject.date_added, StixObject.id).offset(30000).limit(1)).one()
    q = service.ObjectQuery(types=["indicator"])
    for label, pred in (("OR keyset (as shipped)", or_(StixObject.date_added > mid[0], and_(StixObject.date_added == mid[0], StixObject.id > mid[1]))),
                        ("row-value keyset", tuple_(StixObject.date_added, StixObject.id) > tuple_(mid[0], mid[1]))):
        stmt = service._filtered(coll, rdr, q).where(pred).order_by(StixObject.date_added, StixObject.id).limit(1001)
        sql = str(stmt.compile(eng, compile_kwargs={"literal_binds": True}))
        plan = [r[0] for r in s.execute(text("EXPLAIN (ANALYZE) " + sql))]
        print("==", label); print("\n".join(l[:160] for l in plan if "Scan" in l or "Sort" in l or "Execution" in l or "Index Cond" in l))
