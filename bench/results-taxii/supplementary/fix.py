import sqlite3, time, sys
db = sqlite3.connect(sys.argv[1])
coll = db.execute("select id from collections").fetchone()[0]
ids = [r[0] for r in db.execute("select stix_id from stix_objects order by random() limit 50")]
shares = ",".join(str(i) for i in range(1, 102))
base = ("SELECT * FROM stix_objects {hint} WHERE collection_id=? AND (tlp='clear' OR tlp='green' OR producer_party_id=1 OR "
        "tlp IN ('amber','amber+strict') AND share_id IN (%s)) AND stix_id IN (?) AND is_latest IS 1 "
        "ORDER BY date_added, id LIMIT 1001" % shares)
def bench(label, hint=""):
    sql = base.format(hint=hint)
    plan = db.execute("EXPLAIN QUERY PLAN " + sql, (coll, ids[0])).fetchall()
    lat = []
    for oid in ids:
        t0 = time.perf_counter(); rows = db.execute(sql, (coll, oid)).fetchall(); lat.append(time.perf_counter() - t0)
        assert len(rows) == 1
    lat.sort()
    print("%-40s p50 %7.3f ms  p95 %7.3f ms  plan %s" % (label, lat[25]*1e3, lat[47]*1e3, [p[3] for p in plan]))
bench("as issued (no stats)")
bench("INDEXED BY ix_stix_coll_id_version", "INDEXED BY ix_stix_coll_id_version")
db.execute("ANALYZE"); db.commit()
bench("after ANALYZE")
