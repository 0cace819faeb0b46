"""Audit record store: durable records per second, the latency one append adds, and event-loop lag.

    python bench/audit.py            # full run
    python bench/audit.py --quick    # CI smoke run, under 30 s

Measures SQLite (single writer; 8 threads with group commit) and, when AIGCLABEL_BENCH_POSTGRES_URL
or AIGCLABEL_TEST_POSTGRES_URL names a server, PostgreSQL (8 threads). Every record is durable when
append() returns (committed; SQLite WAL with synchronous=FULL). The latency is that of one append
from a single caller: what an opted-out response waits before it is released.

Event-loop lag: 50 concurrent opted-out "streams" on one asyncio loop, each writing 20 records
through ``Recorder`` — ``record()`` called on the loop (what 0.1's wrapped async clients did) and
``await record_async()`` (the writer thread commits; the loop only awaits). A probe task sleeps
1 ms in a loop; its lateness is the lag every other request on that loop would see.
Writes bench/results/audit.json and bench/results/AUDIT.md. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from aigclabel import LabelContext, LabelPolicy, OptOut
from aigclabel.adapters.audit import AuditStore
from aigclabel.audit import AuditRecord
from aigclabel.audit.recorder import Recorder
from aigclabel.ids import new_produce_id

HERE = Path(__file__).resolve().parent
PRODUCER = "001191110102MAD55U9H0F10002"
KEY = "5c2e8f1a9d4b7e3061f8a2c4d9b0e7a3"
CHAIN_KEY = "f3a91c07d25e4b68a0c7e2d95b1f4836"
STREAMS, PER_STREAM = 50, 20
# Measured with the same workload on the code before issue 9 (record() blocking on the loop,
# no writer futures), commit 91ebce8: kept for the before/after table.
BEFORE_ISSUE_9 = {
    "SQLite": {"p50_ms": 151.356, "p99_ms": 258.969, "max_ms": 258.97, "records_per_s": 288},
    "PostgreSQL (loopback)": {"p50_ms": 239.915, "p99_ms": 381.095, "max_ms": 381.1, "records_per_s": 192},
}


def _record(user: str) -> AuditRecord:
    return AuditRecord(
        kind="generated",
        user=user,
        produce_id=new_produce_id()[0],
        content_producer=PRODUCER,
        label="1",
        agreement_version="2025-09",
        labels_applied=("implicit", "marks"),
        labels_waived=("explicit",),
        content_sha256="ab" * 32,
        ip="203.0.113.9",
        request_id=uuid.uuid4().hex,
        model="gpt-4o-mini",
    )


def throughput(url: str, threads: int, total: int, group_commit: bool) -> dict[str, Any]:
    with AuditStore.open(url, group_commit=group_commit) as store:
        store.append(_record("warm-up"))
        per = total // threads

        def work(w: int) -> None:
            for _ in range(per):
                store.append(_record(f"u{w}"))

        workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
        start = time.perf_counter()
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        elapsed = time.perf_counter() - start
        ok = store.verify().ok
    return {
        "records": per * threads,
        "seconds": round(elapsed, 3),
        "records_per_s": round(per * threads / elapsed),
        "chain_ok": ok,
    }


def latency(url: str, count: int) -> dict[str, Any]:
    with AuditStore.open(url) as store:
        store.append(_record("warm-up"))
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            store.append(_record("u"))
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "appends": count,
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 3),
    }


def loop_lag(url: str, mode: str, streams: int = STREAMS, per: int = PER_STREAM) -> dict[str, Any]:
    """
    Lag of a 1 ms probe on the loop while *streams* tasks each write *per* opted-out records.
    """
    policy = LabelPolicy(
        producer=PRODUCER,
        key=KEY,
        audit_store=url,
        opt_out_agreements=["2025-09"],
        audit_chain_key=CHAIN_KEY,
        audit_timeout_seconds=30,
    )
    opt_out = OptOut(user="u", agreement_version="2025-09")
    ctx = LabelContext(user="u", opt_out=opt_out)

    async def run() -> dict[str, Any]:
        recorder = Recorder(policy)
        await recorder.record_async(
            kind="generated", context=ctx, opt_out=opt_out, produce_id=new_produce_id()[0], text=None
        )
        lags: list[float] = []
        stop = False

        async def probe() -> None:
            while not stop:
                t = time.perf_counter()
                await asyncio.sleep(0.001)
                lags.append((time.perf_counter() - t - 0.001) * 1000)

        async def stream() -> None:
            for _ in range(per):
                await asyncio.sleep(0.002)  # the model producing the next part
                if mode == "sync":
                    recorder.record(
                        kind="generated",
                        context=ctx,
                        opt_out=opt_out,
                        produce_id=new_produce_id()[0],
                        text=None,
                    )
                else:
                    await recorder.record_async(
                        kind="generated",
                        context=ctx,
                        opt_out=opt_out,
                        produce_id=new_produce_id()[0],
                        text=None,
                    )

        watcher = asyncio.create_task(probe())
        start = time.perf_counter()
        await asyncio.gather(*(stream() for _ in range(streams)))
        elapsed = time.perf_counter() - start
        stop = True
        await watcher
        await recorder.aclose()
        lags.sort()
        return {
            "records": streams * per,
            "p50_ms": round(statistics.median(lags), 3),
            "p99_ms": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 3),
            "max_ms": round(lags[-1], 2),
            "records_per_s": round(streams * per / elapsed),
        }

    return asyncio.run(run())


def _pg_url() -> str | None:
    url = os.environ.get("AIGCLABEL_BENCH_POSTGRES_URL") or os.environ.get("AIGCLABEL_TEST_POSTGRES_URL")
    if not url:
        return None
    import sqlalchemy as sa

    schema = f"audit_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    return (
        sa.engine.make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def _drop_pg(url: str) -> None:
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    schema = str(parsed.query["options"]).split("=", 1)[1]
    engine = sa.create_engine(parsed.difference_update_query(["options"]))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer records (CI smoke run, < 20 s)")
    args = parser.parse_args()
    n_single, n_threads, n_lat = (300, 2000, 300) if args.quick else (2000, 20000, 2000)
    per_stream = 4 if args.quick else PER_STREAM
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = lambda name: f"sqlite:///{tmp}/{name}.db"  # noqa: E731
        rows.append({"what": "SQLite, 1 writer", **throughput(sqlite("single"), 1, n_single, True)})
        rows.append(
            {"what": "SQLite, 8 threads, group commit", **throughput(sqlite("group"), 8, n_threads, True)}
        )
        rows.append(
            {
                "what": "SQLite, 8 threads, no group commit",
                **throughput(sqlite("nogroup"), 8, n_single * 2, False),
            }
        )
        lat = [{"what": "SQLite, one append", **latency(sqlite("latency"), n_lat)}]
        lag = [
            {"store": "SQLite", "mode": mode, **loop_lag(sqlite(f"lag-{mode}"), mode, per=per_stream)}
            for mode in ("sync", "async")
        ]
    pg = _pg_url()
    if pg is None:
        rows.append(
            {"what": "PostgreSQL, 8 threads", "skipped": "set AIGCLABEL_BENCH_POSTGRES_URL to measure"}
        )
    else:
        try:
            rows.append(
                {
                    "what": "PostgreSQL (loopback), 8 threads, group commit",
                    **throughput(pg, 8, n_threads, True),
                }
            )
            rows.append({"what": "PostgreSQL (loopback), 1 writer", **throughput(pg, 1, n_single, True)})
            lat.append({"what": "PostgreSQL (loopback), one append", **latency(pg, n_lat)})
        finally:
            _drop_pg(pg)
        for mode in ("sync", "async"):
            pg = _pg_url()
            assert pg is not None
            try:
                lag.append(
                    {"store": "PostgreSQL (loopback)", "mode": mode, **loop_lag(pg, mode, per=per_stream)}
                )
            finally:
                _drop_pg(pg)
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": _dt.date.today().isoformat(),
        "quick": args.quick,
    }
    out = HERE / "results" / "quick" if args.quick else HERE / "results"  # smoke runs never overwrite
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(
        json.dumps(
            {
                "meta": meta,
                "throughput": rows,
                "latency": lat,
                "loop_lag": lag,
                "before_issue_9": BEFORE_ISSUE_9,
            },
            indent=2,
        )
        + "\n"
    )
    lines = [
        "# Audit record store: durable records per second, append latency",
        "",
        "Generated by `python bench/audit.py"
        + (" --quick`" if args.quick else "`")
        + f"; Python {meta['python']}, {meta['cpus']} CPUs. Every record is durable when append() returns "
        "(committed; SQLite WAL + synchronous=FULL, fsync per transaction).",
        "",
        "| store | records | seconds | durable records/s | chain verifies |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['what']} | – | – | – | {r['skipped']} |")
        else:
            lines.append(
                f"| {r['what']} | {r['records']} | {r['seconds']} | {r['records_per_s']:,} | {r['chain_ok']} |"
            )
    lines += [
        "",
        "Latency one append adds before an opted-out response is released (single caller):",
        "",
        "| store | appends | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['what']} | {r['appends']} | {r['p50_ms']} | {r['p99_ms']} |" for r in lat]
    lines += [
        "",
        f"Event-loop lag with {STREAMS} concurrent opted-out streams on one asyncio loop, "
        f"{lag[0]['records'] // STREAMS if lag else 0} records each (a 1 ms probe's lateness; "
        "durable records/s over the whole run):",
        "",
        "| store | path | p50 ms | p99 ms | max ms | durable records/s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for store_name, before in BEFORE_ISSUE_9.items():
        lines.append(
            f"| {store_name} | before issue 9: record() on the loop (commit 91ebce8) | {before['p50_ms']} | "
            f"{before['p99_ms']} | {before['max_ms']} | {before['records_per_s']:,} |"
        )
    names = {"sync": "record() on the loop (blocking)", "async": "await record_async() (writer thread)"}
    lines += [
        f"| {r['store']} | {names[r['mode']]} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['records_per_s']:,} |"
        for r in lag
    ]
    (out / "AUDIT.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
