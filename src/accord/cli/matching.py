"""``accord match``: match observations against indicators, with a progress bar and a summary; also the
benchmark protocol of ``../shared/bench`` (``--indicators --observations --per-unit --out``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from accord.cli.common import _accounts_session, _cli_actor, _fail, _settings, err, out
from accord.core.errors import AccordError, Invalid, Problem

KINDS = ("auto", "bundle", "jsonl", "csv", "zeek")


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise Invalid(f"cannot read {what}", [Problem(what, f"{path}: {exc.strerror or exc}")]) from exc
    except ValueError as exc:
        raise Invalid(f"{what} is not JSON", [Problem(what, f"{path}: {exc}")]) from exc


def indicators_from_bundle(path: Path) -> list[tuple[str, str, str]]:
    """(id, pattern, name) of the STIX-pattern indicators of a bundle file."""
    doc = _read_json(path, "--indicators")
    objects = doc.get("objects") if isinstance(doc, dict) else doc if isinstance(doc, list) else None
    if not isinstance(objects, list):
        raise Invalid("--indicators must be a STIX bundle", [Problem("--indicators", f"{path}: no 'objects' list")])
    found = []
    for o in objects:
        if (
            isinstance(o, dict)
            and o.get("type") == "indicator"
            and isinstance(o.get("pattern"), str)
            and o.get("pattern_type", "stix") == "stix"
            and isinstance(o.get("id"), str)
        ):
            found.append((o["id"], o["pattern"], str(o.get("name") or "")))
    return found


def _columns() -> tuple[Any, ...]:
    return (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def _per_unit(indicators: Path, observations: Path, out_path: Path) -> None:
    """The benchmark protocol: each unit matched on its own; sorted [indicator_id, observed_data_id] pairs."""
    from accord.matching.engine import Matcher
    from accord.matching.inputs import observations_from_bundle

    started = time.perf_counter()
    matcher = Matcher((iid, pattern) for iid, pattern, _ in indicators_from_bundle(indicators))
    compiled = time.perf_counter()
    units = _read_json(observations, "--observations")
    if not isinstance(units, list):
        raise Invalid("--observations must be a JSON array of bundles", [Problem("--observations", str(observations))])
    pairs: list[list[str]] = []
    with Progress(*_columns(), console=err, transient=True) as bar:
        task = bar.add_task("matching units", total=len(units))
        for unit in units:
            for obs in observations_from_bundle(unit):
                pairs.extend([iid, obs.id] for iid in matcher.match_unit(obs))
            bar.advance(task)
    pairs.sort()
    out_path.write_text(json.dumps(pairs), encoding="utf-8")
    done = time.perf_counter()
    for r in matcher.rejected:
        err.print(f"rejected {r.indicator_id}: {r.reason}", highlight=False, markup=False)
    err.print(
        f"{len(matcher)} indicators compiled in {compiled - started:.2f} s; {len(units)} units matched in "
        f"{done - compiled:.2f} s; {len(pairs)} pairs written to {out_path}",
        highlight=False,
    )


FilesArg = Annotated[
    list[Path] | None, typer.Argument(help="observations: STIX bundles, JSONL/CSV observables, Zeek logs")
]
IndicatorsOpt = Annotated[
    Path | None, typer.Option(help="a STIX bundle of indicators (default: the node's active indicators)")
]
UnitsOpt = Annotated[Path | None, typer.Option(help="benchmark protocol: a JSON array of bundles, one unit each")]
PerUnitOpt = Annotated[bool, typer.Option("--per-unit", help="benchmark protocol: match each unit on its own")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="benchmark protocol: where to write the pairs")]
KindOpt = Annotated[str, typer.Option(help="input format: auto, bundle, jsonl, csv, zeek")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="match and report, record no sighting")]
ListsOpt = Annotated[
    str | None, typer.Option(help="warning lists: default, all, none or list ids (default: ACCORD_WARNINGLISTS)")
]
BatchOpt = Annotated[int, typer.Option(min=1, help="observations matched together (patterns spanning observations)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the summary as JSON")]


def match(
    files: FilesArg = None,
    indicators: IndicatorsOpt = None,
    observations: UnitsOpt = None,
    per_unit: PerUnitOpt = False,
    out_path: OutOpt = None,
    kind: KindOpt = "auto",
    dry_run: DryRunOpt = False,
    warninglists: ListsOpt = None,
    batch: BatchOpt = 10000,
    as_json: JsonOpt = False,
) -> None:
    """Match observations against indicators and record what matched as sightings."""
    try:
        if observations is not None or per_unit or out_path is not None:
            if files or observations is None or indicators is None or out_path is None or not per_unit:
                raise Invalid(
                    "the benchmark protocol takes --indicators, --observations, --per-unit and --out, and no FILE",
                    [Problem("--observations", "use all four options together")],
                )
            _per_unit(indicators, observations, out_path)
            return
        if not files:
            raise Invalid("nothing to match", [Problem("FILE", "give one or more observation files")])
        if kind not in KINDS:
            raise Invalid("unknown input format", [Problem("--kind", f"{kind!r}: expected {', '.join(KINDS)}")])
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise Invalid("no such file", [Problem("FILE", m) for m in missing])
        _match_files(files, indicators, kind, dry_run, warninglists, batch, as_json)
    except AccordError as exc:
        _fail(exc)


def _match_files(
    files: list[Path], indicators: Path | None, kind: str, dry_run: bool, choice: str | None, batch: int, as_json: bool
) -> None:
    from accord.matching import service
    from accord.matching.engine import Matcher

    settings = _settings()
    started = time.perf_counter()
    with _accounts_session(settings) as session:
        if indicators is not None:
            found = indicators_from_bundle(indicators)
            names = {iid: name for iid, _, name in found}
            matcher = Matcher((iid, pattern) for iid, pattern, _ in found)
        else:
            names = {i.id: i.name for i in service.active_indicators(session)}
            matcher = service.node_matcher(session)
        total_lines = sum(_count_lines(f) for f in files)
        with Progress(*_columns(), console=err, transient=not as_json) as bar:
            task = bar.add_task("matching", total=total_lines or None)
            run = service.match_inputs(
                session, files, kind=kind, actor=_cli_actor(), matcher=matcher,
                warninglists=choice or settings.warninglists, record=not dry_run, batch=batch,
                on_line=lambda _n: bar.advance(task),
            )  # fmt: skip
        if dry_run:
            session.rollback()
    elapsed = time.perf_counter() - started
    report, suppressed = run.report, run.suppressed_by
    summary = {
        "files": [str(f) for f in files],
        "indicators": len(matcher),
        "rejected_indicators": [{"id": r.indicator_id, "reason": r.reason} for r in matcher.rejected],
        "observations": report.observations,
        "matches": report.matches,
        "suppressed_matches": sum(suppressed.values()),
        "suppressed_by": suppressed,
        "sightings_created": run.sightings_created,
        "sightings_updated": run.sightings_updated,
        "recorded": run.recorded,
        "seconds": round(elapsed, 3),
        "by_indicator": dict(run.by_indicator()),
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    table = Table(title=f"{report.matches} matches in {report.observations} observations ({elapsed:.1f} s)")
    for col in ("indicator", "name", "matches"):
        table.add_column(col, overflow="fold")
    for iid, n in list(summary["by_indicator"].items())[:30]:
        table.add_row(iid, names.get(iid, ""), str(n))
    out.print(table)
    if len(summary["by_indicator"]) > 30:
        out.print(f"… and {len(summary['by_indicator']) - 30} more indicators", highlight=False)
    for lst, n in suppressed.items():
        out.print(f"suppressed by warning list {lst}: {n} matches", highlight=False)
    for r in matcher.rejected:
        err.print(f"indicator {r.indicator_id} not usable: {r.reason}", highlight=False, markup=False)
    if dry_run:
        out.print("dry run: no sighting recorded", highlight=False)
    else:
        out.print(
            f"sightings: {report.sightings_new} new, {report.sightings_updated} updated "
            f"({len(matcher)} indicators, {report.observations} observations)",
            highlight=False,
        )


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)
