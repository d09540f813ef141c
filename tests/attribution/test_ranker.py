"""TTP-based candidate ranking: hand-made profiles where the right answer is obvious, validation of ids, the
``accord attribution`` commands, and the measured quality on two folds of the development task."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.attribution.ranker import (
    SIGNAL_NOTE,
    Params,
    Profile,
    Ranker,
    Vocabulary,
    attack_software_techniques,
    load_profiles,
    profiles_from_attack,
)
from accord.cli.attribution import attribution_app
from accord.core.errors import Invalid

DATA = Path(__file__).parent / "data"
COMMON = ["T1059", "T1105", "T1082", "T1083", "T1027"]


def prof(gid: str, techniques: list[str], software: list[str] = ()) -> Profile:  # type: ignore[assignment]
    return Profile(gid, f"Group {gid}", frozenset(techniques), frozenset(software))


def fillers(n: int = 8) -> list[Profile]:
    """Groups that all show the common techniques (and a private one each)."""
    return [prof(f"G09{i:02d}", COMMON + [f"T12{i:02d}"]) for i in range(n)]


def ids(ranking) -> list[str]:
    return [c.group_id for c in ranking.candidates]


# ---------------------------------------------------------------- ranking logic


def test_a_rare_shared_technique_beats_a_common_one():
    rare = prof("G0001", ["T1606", "T1021", "T1082"])  # T1606: nobody else
    common = prof("G0002", ["T1059", "T1021", "T1082"])  # T1059: every filler too
    ranker = Ranker([common, rare, *fillers()])
    result = ranker.rank(["T1606", "T1059"], top=None)
    order = ids(result)
    assert order.index("G0001") < order.index("G0002")
    assert order[0] == "G0001"
    best = result.candidates[0]
    assert [e.technique for e in best.shared_techniques] == ["T1606"]
    assert best.shared_techniques[0].relation == "exact"
    assert best.shared_techniques[0].rarity > ranker.rank(["T1059"]).candidates[0].techniques[0].rarity


def test_sub_techniques_roll_up_with_partial_credit():
    exact = prof("G0001", ["T1566.002", "T1021"])
    sibling = prof("G0002", ["T1566.001", "T1021"])
    unrelated = prof("G0003", ["T1190", "T1021"])
    ranker = Ranker([unrelated, sibling, exact, *fillers()])
    order = ids(ranker.rank(["T1566.002"], top=None))
    assert order.index("G0001") < order.index("G0002") < order.index("G0003")
    ev = next(c for c in ranker.rank(["T1566.002"], top=None).candidates if c.group_id == "G0002").techniques[0]
    assert (ev.relation, ev.via) == ("family", ("T1566.001",))
    assert ev.own > 0
    exact_ev = ranker.rank(["T1566.002"]).candidates[0].techniques[0]
    assert exact_ev.relation == "exact" and exact_ev.own > ev.own
    # a parent observed, a sub-technique recorded: the same family
    order = ids(ranker.rank(["T1566"], top=None))
    assert order.index("G0002") < order.index("G0003")
    assert order.index("G0001") < order.index("G0003")


def test_software_separates_groups_with_the_same_techniques():
    a = prof("G0001", ["T1566.001", "T1204.002"], ["S0001"])
    b = prof("G0002", ["T1566.001", "T1204.002"], ["S0002", "S0003"])
    ranker = Ranker([a, b, *fillers()])
    result = ranker.rank(["T1566.001"], ["S0002"])
    assert ids(result)[:2] == ["G0002", "G0001"]
    assert [s for s, _ in result.candidates[0].shared_software] == ["S0002"]
    assert result.candidates[0].software_score > 0
    assert result.candidates[1].shared_software == ()
    assert ids(ranker.rank(["T1566.001"], ["S0001"]))[0] == "G0001"


def test_techniques_the_groups_software_implements_count_for_it():
    shows = prof("G0003", ["T1003", "T1021"])
    tooled = prof("G0001", ["T1021"], ["S0100"])  # S0100 implements T1003
    other = prof("G0002", ["T1021"], ["S0200"])  # S0200 does not
    implements = {"S0100": ["T1003", "T1059"], "S0200": ["T1105"], "S0300": ["T1003"]}
    profiles = [shows, tooled, other, *fillers()]
    ranker = Ranker(profiles, software_techniques=implements)
    order = ids(ranker.rank(["T1003"], top=None))
    assert order[0] == "G0003"  # its own record still counts most
    assert order.index("G0001") < order.index("G0002")
    by_id = {c.group_id: c for c in ranker.rank(["T1003"], top=None).candidates}
    ev = by_id["G0001"].techniques[0]
    assert (ev.relation, ev.tools_via, ev.own) == ("software", ("S0100",), 0.0) and ev.tools > 0
    assert [e.technique for e in by_id["G0001"].shared_techniques] == ["T1003"]
    assert by_id["G0002"].techniques[0].tools == 0 and by_id["G0002"].shared_techniques == ()
    for c in by_id.values():  # the four parts still add up to each technique's term
        for e in c.techniques:
            assert e.contribution == pytest.approx(e.own + e.tools + e.similar + e.smoothing)
        assert c.score == pytest.approx(c.prior + c.technique_score + c.software_score)
    # without the software knowledge the two are indistinguishable: equal scores, ordered by id
    plain = {c.group_id: c.score for c in Ranker(profiles).rank(["T1003"], top=None).candidates}
    assert plain["G0001"] == plain["G0002"]
    # the mapping can be swapped (the benchmark's leakage control does this)
    ranker.use_software_techniques({"S0200": ["T1003"]})
    order = ids(ranker.rank(["T1003"], top=None))
    assert order.index("G0002") < order.index("G0001")
    with pytest.raises(ValueError):
        Params(tools=1.0)


def test_attack_software_knowledge_is_malware_and_tools_only():
    implements = attack_software_techniques()
    assert len(implements) > 700 and all(x.startswith("S") for x in implements)
    assert {"T1003.001", "T1550.002"} <= implements["S0002"]  # Mimikatz: LSASS dumping, pass the hash
    assert all(t.startswith("T") for ts in implements.values() for t in ts)


def test_equal_scores_are_ordered_by_group_id_whatever_the_input_order():
    twins = [prof("G0042", ["T1606", "T1021"]), prof("G0017", ["T1606", "T1021"])]
    profiles = twins + fillers()
    first = Ranker(profiles).rank(["T1606"], top=None)
    assert ids(first)[:2] == ["G0017", "G0042"]
    assert first.candidates[0].score == first.candidates[1].score
    for seed in range(3):
        shuffled = profiles[:]
        random.Random(seed).shuffle(shuffled)
        again = Ranker(shuffled).rank(["T1606"], top=None)
        assert ids(again) == ids(first)
        assert [c.score for c in again.candidates] == [c.score for c in first.candidates]
    # the batch interface agrees with the explained one
    assert Ranker(profiles).scores(["T1606"]) == [(c.group_id, c.score) for c in first.candidates]


def test_explanation_lists_discriminating_shared_and_absent_characteristic_techniques():
    target = prof("G0001", ["T1606", "T1059", "T1105", "T1611", "T1021.004"])
    ranker = Ranker([target, *fillers()])
    best = ranker.rank(["T1606", "T1059", "T1105", "T1021.001"]).candidates[0]
    assert best.group_id == "G0001"
    shared = [e.technique for e in best.shared_techniques]
    assert shared[0] == "T1606"  # the rare one discriminates most
    assert set(shared) == {"T1606", "T1059", "T1105", "T1021.001"}
    assert [e.own for e in best.shared_techniques] == sorted((e.own for e in best.shared_techniques), reverse=True)
    absent = [t for t, _ in best.absent_techniques]
    assert absent == ["T1611"]  # T1021.004 is in an observed family; the observed ones are not absent
    # the parts of each technique's term add up, and the terms, prior and software make the score
    for e in best.techniques:
        assert e.contribution == pytest.approx(e.own + e.similar + e.smoothing) and e.tools == 0
    assert best.score == pytest.approx(best.prior + best.technique_score + best.software_score)
    # similar groups: the fillers show T1059 and T1105, so they support any group like them
    filler = next(c for c in ranker.rank(["T1606", "T1059"], top=None).candidates if c.group_id == "G0900")
    assert "T1059" in [e.technique for e in filler.shared_techniques]
    assert filler.similar_techniques and filler.similar_techniques[0].similar_groups


def test_shares_are_a_calibrated_softmax_over_all_groups():
    ranker = Ranker([prof("G0001", ["T1606"]), *fillers()])
    result = ranker.rank(["T1606", "T1059"], top=None)
    shares = [c.probability for c in result.candidates]
    assert sum(shares) == pytest.approx(1.0)
    assert shares == sorted(shares, reverse=True)
    assert result.total == len(result.candidates) == 9
    assert len(ranker.rank(["T1606"], top=3).candidates) == 3
    assert result.note == SIGNAL_NOTE and "never an attribution" in SIGNAL_NOTE


# ---------------------------------------------------------------- bad input


def test_validate_reports_malformed_and_unknown_ids():
    ranker = Ranker([prof("G0001", ["T1059.001", "T1105"], ["S0002"]), *fillers()])
    v = ranker.validate(["T1059.005", "t1105 ", "T9999", "S0002", "S9999", "X1", "T1059.1", "S0002"])
    assert v.techniques == ("T1059.005", "T1105")  # a sub-technique of a known family is known
    assert v.software == ("S0002",)
    assert v.malformed == ("X1", "T1059.1")
    assert v.unknown_techniques == ("T9999",)
    assert v.unknown_software == ("S9999",)
    assert not v.ok
    reasons = {p.field: p.reason for p in v.problems}
    assert "malformed" in reasons["X1"] and reasons["T9999"] == "unknown technique in the profiles"
    assert ranker.validate(["T1105", "S0002"]).ok


def test_malformed_ids_are_clear_errors():
    ranker = Ranker(fillers())
    with pytest.raises(Invalid) as exc:
        ranker.rank(["T1059", "1059", "T1059.01"], ["S02"])
    problems = [(p.field, p.reason) for p in exc.value.problems]
    assert ("techniques", "'1059' is not an ATT&CK technique id (T1234, T1234.001)") in problems
    assert len(problems) == 3 and problems[-1][0] == "software"


def test_unknown_ids_are_reported_and_no_known_technique_gives_an_empty_ranking():
    ranker = Ranker(fillers())
    result = ranker.rank(["T1059", "T9999"], ["S9999"])
    assert result.candidates and result.unknown_techniques == ("T9999",) and result.unknown_software == ("S9999",)
    assert "T9999" in result.message and "S9999" in result.message
    empty = ranker.rank(["T9999"])
    assert empty.candidates == () and empty.total == 0
    assert empty.message.startswith("No ranking: no known technique") and "T9999" in empty.message
    assert ranker.scores(["T9999"]) == []
    assert (
        ranker.rank([], ["S0002"]).message
        == "No ranking: no technique was given (ignored, unknown to the profiles: S0002)."
    )
    # with a wider vocabulary, a technique known but used by no group (nor its family) is no evidence
    wide = Ranker(fillers(), vocabulary=Vocabulary(frozenset(COMMON + ["T1234"]), frozenset(), "ATT&CK"))
    none = wide.rank(["T1234"])
    assert none.candidates == () and none.no_evidence == ("T1234",) and none.unknown_techniques == ()
    assert "no group is recorded using: T1234" in none.message


def test_load_profiles_reports_every_bad_line(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(
        json.dumps({"group_id": "G0001", "name": "One", "techniques": ["T1059"], "software": ["S0002"]})
        + "\n\n"
        + json.dumps({"group_id": "g0002", "name": "Two", "techniques": [], "software": [], "stix_id": "x"})
        + "\n"
    )
    loaded = load_profiles(good)
    assert [(p.group_id, p.techniques, p.stix_id) for p in loaded] == [
        ("G0001", frozenset({"T1059"}), None),
        ("G0002", frozenset(), "x"),
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        "not json\n"
        + json.dumps({"group_id": "X1", "techniques": []})
        + "\n"
        + json.dumps({"group_id": "G0001", "techniques": ["T1059", "T99"], "software": "S0002"})
        + "\n"
        + json.dumps({"group_id": "G0001", "techniques": []})
        + "\n"
    )
    with pytest.raises(Invalid) as exc:
        load_profiles(bad)
    lines = sorted((p.line, p.field) for p in exc.value.problems)
    assert lines == [(1, "line"), (2, "group_id"), (3, "software"), (3, "techniques"), (4, "group_id")]


def test_profiles_from_attack_are_the_intrusion_sets_and_their_uses():
    profiles = profiles_from_attack()
    by_id = {p.group_id: p for p in profiles}
    assert len(profiles) == 172 and all(p.group_id.startswith("G") for p in profiles)
    assert all(p.stix_id.startswith("intrusion-set--") for p in profiles)
    apt28 = by_id["G0007"]
    assert apt28.name == "APT28" and "T1566.001" in apt28.techniques and "S0002" in apt28.software
    # the development task's profiles are ATT&CK's minus one held-out report each
    for line in (DATA / "dev-report-k5-f0" / "profiles.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert set(row["techniques"]) <= by_id[row["group_id"]].techniques
        assert set(row["software"]) <= by_id[row["group_id"]].software


# ---------------------------------------------------------------- the command line

runner = CliRunner()


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _small_task(tmp_path: Path) -> tuple[Path, Path]:
    groups = [prof("G0001", ["T1606", "T1021"], ["S0002"]), prof("G0002", ["T1566.001", *COMMON]), *fillers(4)]
    profiles = _write_jsonl(
        tmp_path / "profiles.jsonl",
        [
            {"group_id": p.group_id, "name": p.name, "techniques": sorted(p.techniques), "software": sorted(p.software)}
            for p in groups
        ],
    )
    queries = _write_jsonl(
        tmp_path / "queries.jsonl",
        [
            {"query_id": "q1", "techniques": ["T1606", "T1059"], "software": ["S0002"]},
            {"query_id": "q2", "techniques": ["T1566.002"], "software": []},
            {"query_id": "q3", "techniques": ["T9999"], "software": []},
        ],
    )
    return profiles, queries


def test_cli_rank_round_trip(tmp_path):
    profiles, queries = _small_task(tmp_path)
    out = tmp_path / "rankings.jsonl"
    r = runner.invoke(
        attribution_app, ["rank", "--profiles", str(profiles), "--queries", str(queries), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert "3 queries ranked against 6 groups" in r.output
    assert "T9999 (1)" in r.output and "1 queries had no known technique" in r.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["query_id"] for x in lines] == ["q1", "q2", "q3"]
    q1, q2, q3 = lines
    assert q1["ranking"][0] == "G0001" and len(q1["ranking"]) == len(q1["scores"]) == 6
    assert q1["scores"] == sorted(q1["scores"], reverse=True)
    assert q2["ranking"][0] == "G0002"
    assert q3["ranking"] == [] and q3["scores"] == [] and "No ranking" in q3["message"]
    # the same through the library
    ranker = Ranker(load_profiles(profiles))
    assert [g for g, _ in ranker.scores(["T1606", "T1059"], ["S0002"])] == q1["ranking"]
    # --top, --techniques-only
    r = runner.invoke(
        attribution_app,
        ["rank", "--profiles", str(profiles), "--queries", str(queries), "--out", str(out), "--top", "2",
         "--techniques-only"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert [len(json.loads(x)["ranking"]) for x in out.read_text().splitlines()] == [2, 2, 0]


def test_cli_rank_refuses_a_bad_queries_file(tmp_path):
    profiles, _ = _small_task(tmp_path)
    queries = _write_jsonl(
        tmp_path / "bad.jsonl",
        [{"query_id": "q1", "techniques": ["T1606"]}, {"query_id": "q2", "techniques": ["1606"], "software": ["X"]}],
    )
    out = tmp_path / "never.jsonl"
    r = runner.invoke(
        attribution_app, ["rank", "--profiles", str(profiles), "--queries", str(queries), "--out", str(out)]
    )
    assert r.exit_code == 1
    assert "line 2: techniques: '1606' is not an ATT&CK technique id" in r.output
    assert "line 2: software: 'X' is not an ATT&CK software id" in r.output
    assert not out.exists()
    # --strict: ids unknown to the profiles are errors too
    _, good = _small_task(tmp_path)
    r = runner.invoke(
        attribution_app,
        ["rank", "--profiles", str(profiles), "--queries", str(good), "--out", str(out), "--strict"],
    )
    assert r.exit_code == 1 and "T9999: unknown in the profiles (1 queries)" in r.output


def test_cli_rank_one_explains_and_refuses_unknown_ids(tmp_path):
    profiles, _ = _small_task(tmp_path)
    env = {"COLUMNS": "250"}
    r = runner.invoke(
        attribution_app, ["rank-one", "--profiles", str(profiles), "-t", "T1606,T1059", "-s", "S0002"], env=env
    )
    assert r.exit_code == 0, r.output
    assert "G0001 Group G0001" in r.output and "T1606" in r.output and "never an attribution" in r.output
    r = runner.invoke(attribution_app, ["rank-one", "--profiles", str(profiles), "-t", "T1606", "--json"], env=env)
    doc = json.loads(r.output)
    assert doc["candidates"][0]["group_id"] == "G0001" and doc["note"] == SIGNAL_NOTE
    r = runner.invoke(attribution_app, ["rank-one", "--profiles", str(profiles), "-t", "T9999", "-t", "X1"], env=env)
    assert r.exit_code == 1
    assert "T9999: unknown technique in the profiles" in r.output and "X1: malformed" in r.output
    r = runner.invoke(
        attribution_app, ["rank-one", "--profiles", str(profiles), "-t", "T9999", "--ignore-unknown"], env=env
    )
    assert r.exit_code == 0 and "No ranking: no known technique" in r.output


# ---------------------------------------------------------------- the development task


def _mrr(folder: Path, with_software: bool) -> float:
    """MRR as the task's score.py: ties count against the gold group; a missing gold counts as rank N."""
    profiles = load_profiles(folder / "profiles.jsonl")
    gold = {g["query_id"]: g["gold"] for g in map(json.loads, (folder / "gold.jsonl").read_text().splitlines())}
    ranker = Ranker(profiles, software_techniques=attack_software_techniques())
    total, n = 0.0, 0
    for q in map(json.loads, (folder / "queries.jsonl").read_text().splitlines()):
        scored = ranker.scores(q["techniques"], q["software"] if with_software else ())
        ranking, scores = [g for g, _ in scored], [s for _, s in scored]
        best = len(profiles)
        for g in gold[q["query_id"]]:
            if g in ranking:
                i = ranking.index(g)
                i += sum(1 for s in scores[i + 1 :] if s == scores[i])
                best = min(best, i + 1)
        total += 1 / best
        n += 1
    return total / n


# TF-IDF cosine MRR on these two folds (the task's baseline, reimplemented): k5-f0 .092, k3-f0 .071.
# The best baseline with software (TF-IDF, sub-techniques rolled up, plus software) is .269 at k = 5.
@pytest.mark.parametrize(("fold", "techniques_only_at_least"), [("dev-report-k5-f0", 0.17), ("dev-report-k3-f0", 0.11)])
def test_development_task_folds(fold, techniques_only_at_least):
    folder = DATA / fold
    assert _mrr(folder, with_software=False) >= techniques_only_at_least  # measured .177 and .116
    assert _mrr(folder, with_software=True) > 0.269  # measured .344 and .340
