"""
Verify throughput on engines: the plain verify_batch loop, verify_tree's process pool, Ray Data
and Spark, in local mode on the same generated files.

    python bench/verify_engines.py            # 10,000 files -> bench/results/ENGINES.md
    python bench/verify_engines.py --quick    # 500 files    -> bench/results/quick/ENGINES.md

The files (md, docx, html, txt, pdf, xlsx: labeled exports, metadata only, a visible phrase
only, plain text, and a few broken ones) are generated once into a temporary directory. Each
engine runs in its own child process (so that its peak memory is its own): a cold run (the
first job, workers starting) and a warm run; the table shows the warm run. Every engine must
return one record per file with the same tiers as the plain loop (Spark skips zero-length
files by design, so the corpus has none).

Memory: ``driver`` is ``getrusage(RUSAGE_SELF).ru_maxrss`` of the engine's child process (the
Python driver); ``tree`` is the peak of the summed resident memory of that process and every
process below it, sampled every 100 ms from /proc (pool workers; Ray's GCS, raylet and
workers; Spark's JVM and its Python workers).
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PRODUCER = "001191110102MAD55U9H0F10002"
KEY = "a bench provider secret, long enough"
ROOT = Path(__file__).resolve().parent
PARA = "杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，适合游览西湖、灵隐寺和龙井村。" * 6
ENGINES = ("loop", "tree", "ray", "spark")
LABELS = {
    "loop": "verify_batch, 1 process",
    "tree": "verify_tree(workers=2)",
    "ray": "Ray Data, local, num_cpus=2",
    "spark": "Spark local[2], mapInPandas",
}


# -- the corpus ----------------------------------------------------------------------------


def _xlsx(text: str, value: str | None) -> bytes:
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "xl/workbook.xml": f'<workbook {ns}><sheets><sheet name="S" sheetId="1"/></sheets></workbook>',
        "xl/sharedStrings.xml": f'<sst {ns} count="1"><si><t>{html.escape(text)}</t></si></sst>',
        "xl/worksheets/sheet1.xml": f'<worksheet {ns}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>',
    }
    rels = [f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>']
    types = [
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    ]
    if value is not None:
        parts["docProps/custom.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
            'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="AIGC">'
            f"<vt:lpwstr>{html.escape(value, quote=False)}</vt:lpwstr></property></Properties>"
        )
        rels.append(f'<Relationship Id="rId2" Type="{rel}/custom-properties" Target="docProps/custom.xml"/>')
        types.append(
            '<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
        )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>' + "".join(types) + "</Types>",
        )
        zf.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(rels)
            + "</Relationships>",
        )
        for name, body in parts.items():
            zf.writestr(name, body)
    return buf.getvalue()


def samples() -> dict[str, bytes]:
    """One file per (kind, format): labeled exports, metadata only, phrase only, plain, broken."""
    from aigclabel import AIGCMetadata, Labeler, LabelPolicy
    from aigclabel.adapters.export import export

    labeler = Labeler(LabelPolicy(producer=PRODUCER, key=KEY))
    labeled = labeler.label("\n\n".join([PARA] * 3))
    meta = AIGCMetadata.first_write(producer=PRODUCER, produce_id="bench-0001")
    out: dict[str, bytes] = {}
    for fmt in ("md", "docx", "html", "txt", "pdf"):
        out[f"labeled.{fmt}"] = export(labeled, fmt)
        # metadata only: the file label of an export around a plain text (exports always carry one)
        out[f"meta.{fmt}"] = export(labeler.label(PARA), fmt) if fmt != "txt" else PARA.encode()
    out["phrase.md"] = (PARA + "\n\n本内容由人工智能生成").encode()
    out["phrase.txt"] = (PARA + "\n\n本内容由人工智能生成").encode()
    body = "".join(f"<p>{html.escape(p)}</p>" for p in (PARA, "本内容由人工智能生成"))
    out["phrase.html"] = f"<html><head><title>t</title></head><body>{body}</body></html>".encode()
    out["plain.md"] = PARA.encode()
    out["plain.txt"] = PARA.encode()
    out["plain.html"] = (
        f"<html><head><title>t</title></head><body><p>{html.escape(PARA)}</p></body></html>".encode()
    )
    out["meta.xlsx"] = _xlsx(PARA, meta.for_format("docx"))
    out["plain.xlsx"] = _xlsx(PARA, None)
    out["broken.docx"] = b"PK\x03\x04 not a zip archive" + bytes(range(256))
    out["broken.pdf"] = b"%PDF-1.7\n" + bytes(range(256)) * 4
    out["invalid.txt"] = b"\xff\xfe" + PARA.encode()[:-1]
    return out


def generate(root: Path, n: int) -> int:
    """Write *n* files under *root* (ten sub-folders); return the bytes written."""
    blobs = samples()
    names = sorted(blobs)
    total = 0
    for i in range(n):
        name = names[i % len(names)]
        stem, _, suffix = name.partition(".")
        sub = root / f"d{i % 10}"
        sub.mkdir(exist_ok=True)
        (sub / f"{i:05d}-{stem}.{suffix}").write_bytes(blobs[name])
        total += len(blobs[name])
    return total


# -- memory ----------------------------------------------------------------------------------


class TreeRSS:
    """The peak summed RSS (bytes) of this process and all its descendants, sampled from /proc."""

    def __init__(self, interval: float = 0.1) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def __enter__(self) -> TreeRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(interval)

    @staticmethod
    def sample() -> int:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry)
            children.setdefault(int(stat[1]), []).append(pid)
            rss[pid] = int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        total, stack = 0, [os.getpid()]
        while stack:
            pid = stack.pop()
            total += rss.get(pid, 0)
            stack.extend(children.get(pid, []))
        return total


# -- one engine, in a child process ----------------------------------------------------------


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _run_loop(root: Path) -> list[dict[str, Any]]:
    from aigclabel.adapters.files import verify_batch

    return list(verify_batch(((str(p), p.read_bytes()) for p in _files(root)), key=KEY))


def _run_tree(root: Path) -> list[dict[str, Any]]:
    from aigclabel.adapters.files import verify_tree

    out = io.StringIO()
    verify_tree(root, key=KEY, jsonl=out, workers=2, progress=False)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _engine(name: str, root: Path) -> dict[str, Any]:
    """Start the engine, run it twice (cold, warm); return timings, tiers and memory."""
    started = time.perf_counter()
    stop: Any = None
    if name == "loop":
        run = _run_loop
    elif name == "tree":
        run = _run_tree
    elif name == "ray":
        import pyarrow as pa
        import ray
        from aigclabel.adapters.engines import verify_paths

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray.data.DataContext.get_current().enable_progress_bars = False

        def run(root: Path) -> list[dict[str, Any]]:
            refs = verify_paths([str(root)], key=KEY).to_arrow_refs()
            rows: list[dict[str, Any]] = (
                pa.concat_tables(ray.get(refs)).select(["path", "tier", "error"]).to_pylist()
            )
            return rows

        stop = ray.shutdown
    else:
        os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
        from aigclabel.adapters.engines import verify_frame
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", "1g")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.files.openCostInBytes", str(64 * 1024))
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")

        def run(root: Path) -> list[dict[str, Any]]:
            df = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(str(root))
            return [r.asDict() for r in verify_frame(df, key=KEY).select("path", "tier", "error").collect()]

        stop = spark.stop
    startup = time.perf_counter() - started
    with TreeRSS() as tree:
        t0 = time.perf_counter()
        run(root)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = run(root)
        warm = time.perf_counter() - t0
    if stop is not None:
        stop()
    return {
        "engine": name,
        "startup": startup,
        "cold": cold,
        "warm": warm,
        "files": len(rows),
        "errors": sum(r["error"] is not None for r in rows),
        "tiers": dict(Counter(r["tier"] for r in rows)),
        "driver_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "tree_rss": tree.peak,
    }


# -- the report --------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _java() -> str:
    try:
        proc = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return "none"
    return proc.stderr.splitlines()[0] if proc.stderr else "unknown"


def _child(argv: list[str], what: str) -> str:
    """Run this script with *argv* in a child process; its last line of output."""
    proc = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"{what} failed")
    return proc.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="500 files, results under bench/results/quick/")
    parser.add_argument("--files", type=int, default=None)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: loop,tree,ray,spark")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "ROOT"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("ROOT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_engine(args.child[0], Path(args.child[1]))))
        return 0
    if args.generate:
        print(generate(Path(args.generate[0]), int(args.generate[1])))
        return 0
    n = args.files or (500 if args.quick else 10_000)
    out_dir = ROOT / "results" / ("quick" if args.quick else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # In a child too: Linux keeps ru_maxrss across fork and exec, so this process stays small.
        size = int(_child(["--generate", str(root), str(n)], "generate"))
        load = os.getloadavg()
        for name in args.engines.split(","):
            res = json.loads(_child(["--child", name, str(root)], name))
            results.append(res)
            print(
                f"{name}: {res['files']} files, warm {res['warm']:.2f} s ({n / res['warm']:.0f} files/s), "
                f"cold {res['cold']:.2f} s, startup {res['startup']:.1f} s",
                file=sys.stderr,
            )
    base = next((r for r in results if r["engine"] == "loop"), results[0])
    for r in results:
        if r["tiers"] != base["tiers"] or r["files"] != n:
            raise SystemExit(
                f"{r['engine']} disagrees with {base['engine']}: {r['tiers']} vs {base['tiers']}"
            )
    mb = size / 2**20
    lines = [
        "# Verify on engines (`bench/verify_engines.py`)",
        "",
        f"{n:,} mixed files (md, docx, html, txt, pdf, xlsx; labeled exports / file label only / visible phrase only / "
        f"plain / broken), {mb:.1f} MB in total, verified with an HMAC key. Every engine returned {n:,} records with the "
        "same tiers as the plain loop. `warm`: the second run in the same process (workers already started), the "
        "figure the rates use; `cold`: the first run; `startup`: `ray.init` / the Spark session. "
        "`overhead`: warm seconds ÷ the plain loop's (below 1 is a speed-up from the second core).",
        "",
        f"Machine: `nproc` {os.cpu_count()}, {platform.machine()}, Python {platform.python_version()}, "
        f"{_java()}; aigc-label {_version('aigc-label')}, ray {_version('ray')}, pyspark {_version('pyspark')}, "
        f"pyarrow {_version('pyarrow')}, pandas {_version('pandas')}; load average {load[0]:.2f} when the runs "
        "started (other work on the machine slows every engine alike).",
        "",
        "| engine | files | errors | startup s | cold s | warm s | files/s | MB/s | overhead | driver peak MB | tree peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {LABELS[r['engine']]} | {r['files']} | {r['errors']} | {r['startup']:.1f} | {r['cold']:.2f} | "
            f"{r['warm']:.2f} | {n / r['warm']:.0f} | {mb / r['warm']:.2f} | {r['warm'] / base['warm']:.2f} | "
            f"{r['driver_rss'] / 2**20:.0f} | {r['tree_rss'] / 2**20:.0f} |"
        )
    lines += [
        "",
        "Memory: `driver peak` is `getrusage(RUSAGE_SELF).ru_maxrss` of the engine's own child process (the Python "
        "driver, which for the plain loop is the verifier itself); `tree peak` is the highest sum of the resident "
        "memory of that process and all its descendants, sampled every 100 ms (the pool's workers; Ray's GCS, "
        "raylet and workers; Spark's JVM and Python workers). Shared pages count once per process, so `tree` "
        "over-counts. Spark runs with `spark.sql.files.openCostInBytes=64k` (the 4 MB default packs only ~32 small "
        "files per task).",
    ]
    (out_dir / "ENGINES.md").write_text("\n".join(lines) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
