import sys, collections
tot = 0; incl = collections.Counter(); own = collections.Counter()
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" "); n = int(n); tot += n
    frames = stack.split(";")
    seen = set()
    for f in frames:
        key = f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].split("/")[-1] + ")" if " (" in f else f
        if key not in seen: incl[key] += n; seen.add(key)
    f = frames[-1]; own[f.split(" (")[0] + " (" + (f.split(" (")[1].split(":")[0].split("/")[-1] if " (" in f else "") + ")"] += n
print("samples", tot)
print("-- inclusive"); [print("%5.1f%% %s" % (100*v/tot, k)) for k, v in incl.most_common(int(sys.argv[2]))]
print("-- own"); [print("%5.1f%% %s" % (100*v/tot, k)) for k, v in own.most_common(15)]
