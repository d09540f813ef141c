import sys, time, random, requests, sqlite3
mode, coll, pw = sys.argv[1:4]
root = "http://127.0.0.1:8913/taxii2/accord/collections/%s/objects/" % coll
s = requests.Session(); s.auth = ("bench3", pw); s.headers["Accept"] = "application/taxii+json;version=2.1"
ids = [r[0] for r in sqlite3.connect("/tmp/accord-bench-sqlite/accord.db").execute("select stix_id from stix_objects order by random() limit 400")]
t_end = time.time() + float(sys.argv[4]); n = 0; lat = []
while time.time() < t_end:
    if mode == "id":
        t0 = time.perf_counter(); r = s.get(root, params={"match[id]": ids[n % len(ids)]}); lat.append(time.perf_counter() - t0); r.raise_for_status(); n += 1
    else:
        p = {"limit": "1000"}
        while True:
            t0 = time.perf_counter(); r = s.get(root, params=p); lat.append(time.perf_counter() - t0); e = r.json(); n += 1
            if not e.get("more"): break
            p = {"limit": "1000", "next": e["next"]}
lat.sort(); print(mode, "requests", n, "p50 %.1f ms p95 %.1f ms" % (lat[len(lat)//2]*1e3, lat[int(len(lat)*0.95)]*1e3))
