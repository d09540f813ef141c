"""Fast bulk writes behind one door: PostgreSQL COPY, SQLite executemany; statistics after a load.

Rows are plain dicts keyed by column name; column defaults declared in the models are applied here,
since COPY bypasses SQLAlchemy's own default handling.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table, insert, text


def _defaults(table: Table) -> dict[str, Any]:
    """Column name -> a zero-argument callable producing its Python-side default."""
    out: dict[str, Any] = {}
    for col in table.columns:
        default = col.default
        if default is None:
            continue
        if default.is_callable:
            out[col.key] = lambda d=default: d.arg(None)
        elif default.is_scalar:
            out[col.key] = lambda d=default: d.arg
    return out


def _copy(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    defaults = _defaults(table)
    names = list(dict.fromkeys([*rows[0].keys(), *defaults]))
    json_cols = {c.key for c in table.columns if isinstance(c.type, JSON)}
    cols = ", ".join(f'"{n}"' for n in names)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
        for row in rows:
            values = []
            for n in names:
                v = row[n] if n in row else defaults[n]()
                if n in json_cols and v is not None:
                    v = json.dumps(v, ensure_ascii=False)
                values.append(v)
            copy.write_row(values)


def _executemany(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """DB-API executemany with values already converted by each column type's bind processor.

    Same stored values as SQLAlchemy's own insert, without its per-row parameter machinery.
    """
    defaults = _defaults(table)
    names = list(dict.fromkeys([*rows[0].keys(), *defaults]))
    procs = [table.c[n].type.bind_processor(conn.dialect) for n in names]
    plan = [(n, p, defaults.get(n)) for n, p in zip(names, procs, strict=True)]
    params = []
    for row in rows:
        values = []
        for n, proc, default in plan:
            v = row[n] if n in row else default()  # type: ignore[misc]
            values.append(proc(v) if proc is not None and v is not None else v)
        params.append(tuple(values))
    marks = ", ".join("?" for _ in names)
    cols = ", ".join(f'"{n}"' for n in names)
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})', params)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows in one go: COPY on PostgreSQL, a raw executemany on SQLite, Core otherwise."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, rows)
    elif conn.dialect.name == "sqlite":
        _executemany(conn, table, rows)
    else:
        conn.execute(insert(table), list(rows))


def insert_returning_ids(conn: Connection, table: Table, rows: list[dict[str, Any]], key: str) -> dict[Any, int]:
    """Insert rows and return ``{row[key]: new id}``."""
    if conn.dialect.name == "postgresql":
        seq = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
        ids = list(conn.scalars(text("SELECT nextval(:s) FROM generate_series(1, :n)"), {"s": seq, "n": len(rows)}))
        rows = [r | {"id": i} for r, i in zip(rows, ids, strict=True)]
        _copy(conn, table, rows)
        return {r[key]: r["id"] for r in rows}
    stmt = insert(table).returning(table.c.id, table.c[key])
    return {k: i for i, k in conn.execute(stmt, rows)}


def refresh_statistics(engine: Engine) -> None:
    """Give the query planner fresh statistics after a bulk load (outside any transaction)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def refresh_statistics_sampled(engine: Engine) -> None:
    """Cheap planner statistics for SQLite (sampled ANALYZE); PostgreSQL's autovacuum does this itself.

    Without them SQLite walks the date index for id lookups once a collection is large.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
