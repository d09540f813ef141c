import sys, time
from sqlalchemy import select, text, and_, or_
from accord.db import make_engine, make_sessionmaker
from accord.sharing import service
from accord.sharing.models import StixObject
from accord.auth.models import User
eng = make_engine(sys.argv[1]); S = make_sessionmaker(eng)
with S() as s:
    coll = service.list_collections(s)[0]
    user = s.scalar(select(User).where(User.username == "bench"))
    rdr = service.reader(s, user, coll)
    for name, q in (("unfiltered", service.ObjectQuery()), ("match[type]", service.ObjectQuery(types=["indicator"]))):
        after = None; lat = []
        while True:
            t0 = time.perf_counter()
            page = service.query_objects(s, coll, rdr, q, limit=1000, after=after)
            lat.append(time.perf_counter() - t0)
            if not page.more: break
            after = page.last_key
        n = len(lat)
        print("%s DB-only pages=%d first %.1f ms, middle %.1f ms, last %.1f ms, total %.2f s" % (name, n, lat[0]*1e3, lat[n//2]*1e3, lat[-1]*1e3, sum(lat)))
    if eng.dialect.name == "postgresql" and len(sys.argv) > 2:
        s.execute(text("ANALYZE stix_objects")); s.commit()
        print("after ANALYZE:")
