"""
Statistical watermarks: detector throughput, generation overhead and detection rates, in one run.

    python bench/watermark.py [--quick]

1. **Detector throughput**, tokens per second *including tokenisation*
   (``WatermarkDetector.detect(text)``), next to tiktoken's own ``encode_ordinary`` of the same text
   with the same o200k encoding, in the same process: interleaved rounds, medians, min–max spread.
   vLLM's ``GumbelWatermarkDetector`` is measured too where ``vllm`` imports.
2. **Processor overhead per generated token**: a tiny random Llama (transformers, CPU) generating
   with the green-list or gumbel processor against the same model sampling without one; and the
   numpy processor (llama.cpp's calling convention) at o200k's width against a plain softmax draw.
3. **Detection rate** (TPR) at p ≤ 1e-3 and p ≤ 1e-5 (the false-positive rates those thresholds
   bound; bench/watermark_calibration.py measures them on human prose) for 50–400 tokens at three
   green-list strengths and for gumbel, on the toy model of bench/watermark_calibration.py.

Writes bench/results/WATERMARK.md and watermark.json (``--quick``: under bench/results/quick/).
Measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import watermark_calibration as calib  # noqa: E402  (the sibling script: corpus, toy model, TPR)


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _summary(times: list[float], work: float) -> dict[str, float]:
    """
    Median, fastest and slowest rate (*work* units per second) of a list of timings.
    """
    return {
        "median_s": statistics.median(times),
        "rate": work / statistics.median(times),
        "rate_min": work / max(times),
        "rate_max": work / min(times),
    }


def throughput(rounds: int) -> dict[str, Any]:
    """
    detect(text) against encode_ordinary(text), per text and profile set, interleaved.
    """
    from aigclabel.tokens import get_encoding
    from aigclabel.watermark import WatermarkDetector, tiktoken_tokenizer

    enc = get_encoding("o200k_base")
    texts = {
        "en prose (Alice)": (HERE / "texts" / "en_alice_rest.txt").read_text("utf-8"),
        "zh prose (呐喊)": (HERE / "texts" / "zh_luxun_nahan_rest.txt").read_text("utf-8"),
    }
    tokenizer = tiktoken_tokenizer("o200k_base")
    setups = {
        "green_list": [calib.profile_for("green_list")],
        "gumbel": [calib.profile_for("gumbel")],
        "both schemes, 2 slots each": [
            calib.profile_for(s, slot) for s in ("green_list", "gumbel") for slot in (0, 1)
        ],
    }
    out: dict[str, Any] = {}
    for name, text in texts.items():
        n = len(enc.encode_ordinary(text))
        detectors = {label: WatermarkDetector(p, tokenizer) for label, p in setups.items()}
        timings: dict[str, list[float]] = {"encode": [], **{label: [] for label in detectors}}
        for _ in range(rounds):
            timings["encode"].append(_timed(lambda text=text: enc.encode_ordinary(text)))  # type: ignore[misc]
            for label, det in detectors.items():
                timings[label].append(_timed(lambda det=det, text=text: det.detect(text)))  # type: ignore[misc]
        base = _summary(timings["encode"], n)
        out[name] = {"tokens": n, "chars": len(text), "encode": base}
        for label in detectors:
            cell = _summary(timings[label], n)
            cell["ratio_to_encode"] = cell["rate"] / base["rate"]
            out[name][label] = cell
    return out


def vllm_detector(rounds: int) -> dict[str, Any]:
    """
    vLLM's GumbelWatermarkDetector on the same tokens, where vllm imports; else why not.
    """
    try:
        from vllm.v1.watermarking import GumbelWatermarkDetector  # type: ignore[import-not-found]
    except Exception as exc:  # ImportError, or a CUDA-only build failing at import
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"[:200]}
    from aigclabel.tokens import get_encoding

    ids = get_encoding("o200k_base").encode_ordinary(
        (HERE / "texts" / "en_alice_rest.txt").read_text("utf-8")
    )
    det = GumbelWatermarkDetector(key=calib.profile_for("gumbel").seed)
    times = [_timed(lambda: det.detect(ids)) for _ in range(rounds)]
    return {"available": True, "tokens": len(ids), **_summary(times, len(ids))}


def tiny_llama_overhead(rounds: int, new_tokens: int, vocab: int) -> dict[str, Any]:
    """
    Seconds per generated token of a tiny random Llama with and without each processor.
    """
    import torch
    from aigclabel.adapters.watermark.transformers import GreenListLogitsProcessor, GumbelLogitsProcessor
    from aigclabel.watermark import derive_profile
    from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessorList

    torch.manual_seed(0)
    torch.set_num_threads(1)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        initializer_range=0.5,
        pad_token_id=0,
        bos_token_id=None,
        eos_token_id=None,
    )
    model = LlamaForCausalLM(config).eval()
    prompt = torch.tensor([[5, 6, 7, 8]])

    def profile(scheme: str) -> Any:
        return derive_profile(calib.SECRET, scheme=scheme, vocab_size=vocab)  # type: ignore[arg-type]

    makers: dict[str, Callable[[], list[Any]]] = {
        "no processor": list,
        "green_list": lambda: [GreenListLogitsProcessor(profile("green_list"))],
        "gumbel": lambda: [GumbelLogitsProcessor(profile("gumbel"), rng=np.random.default_rng(0))],
    }
    timings: dict[str, list[float]] = {k: [] for k in makers}

    def run(processors: list[Any]) -> None:
        with torch.no_grad():
            model.generate(
                input_ids=prompt,
                attention_mask=torch.ones_like(prompt),
                logits_processor=LogitsProcessorList(processors),
                do_sample=True,
                top_k=None,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
            )

    run([])  # warm-up
    for _ in range(rounds):
        for label, make in makers.items():
            timings[label].append(_timed(lambda make=make: run(make())) / new_tokens)  # type: ignore[misc]
    base = statistics.median(timings["no processor"])
    out: dict[str, Any] = {"vocab": vocab, "new_tokens": new_tokens}
    for label, times in timings.items():
        med = statistics.median(times)
        out[label] = {
            "ms_per_token": med * 1e3,
            "spread_ms": [min(times) * 1e3, max(times) * 1e3],
            "overhead_ms": (med - base) * 1e3,
        }
    return out


def numpy_processor_cost(rounds: int) -> dict[str, Any]:
    """
    One call of the llama.cpp processor at o200k's width, against one plain softmax draw.
    """
    from aigclabel.adapters.watermark.llama_cpp import WatermarkLogitsProcessor

    rng = np.random.default_rng(0)
    logits = rng.standard_normal(calib.VOCAB).astype(np.float32) * 3
    ids = np.arange(40, dtype=np.intc)

    def draw(values: np.ndarray) -> int:
        finite = np.isfinite(values)
        w = np.exp(values[finite] - values[finite].max())
        return int(np.flatnonzero(finite)[rng.choice(int(finite.sum()), p=w / w.sum())])

    procs = {s: WatermarkLogitsProcessor(calib.profile_for(s), rng=rng) for s in ("green_list", "gumbel")}
    timings: dict[str, list[float]] = {"softmax draw": [], "green_list": [], "gumbel": []}
    for _ in range(rounds):
        timings["softmax draw"].append(_timed(lambda: draw(logits)))
        for s, p in procs.items():
            p.reset()
            timings[s].append(_timed(lambda p=p: p(ids, logits)))  # type: ignore[misc]
    return {
        k: {"ms": statistics.median(v) * 1e3, "spread_ms": [min(v) * 1e3, max(v) * 1e3]}
        for k, v in timings.items()
    }


def detection_rates(samples_per_cell: int, n_tokens: int, workers: int) -> dict[str, Any]:
    mix = calib.mixes_for([calib.DEFAULT_BITS])[calib.DEFAULT_BITS]
    jobs: list[tuple[str, float, float, int, int]] = []
    seed = 50_000
    for delta in calib.DELTAS:
        jobs += [("green_list", delta, mix, seed + i, n_tokens) for i in range(samples_per_cell)]
        seed += samples_per_cell
    jobs += [("gumbel", 2.0, mix, seed + i, n_tokens) for i in range(samples_per_cell)]
    samples = calib.generate_samples(jobs, workers)
    return calib.tpr_by_length(samples, calib.Detectors())


def report(results: dict[str, Any], quick: bool) -> str:
    cfg = results["config"]
    lines = [
        "# Statistical watermarks: speed and detection",
        "",
        f"`python bench/watermark.py{' --quick' if quick else ''}` at commit `{cfg['commit']}`, Python "
        f"{cfg['python']}, {cfg['rounds']} interleaved rounds, medians (spread min–max).",
        "",
        "## Detector throughput (tokens/s, tokenisation included)",
        "",
        "`WatermarkDetector.detect(text)` (o200k_base tokenisation + scoring + exact p-value) against tiktoken's "
        "`encode_ordinary(text)` alone, same encoding, same text, same process. Target: ≥ 0.8× encode.",
        "",
        "| text | tokens | encode (tokens/s) | profiles | detect (tokens/s) | spread | × encode |",
        "|---|---:|---:|---|---:|---|---:|",
    ]
    for name, row in results["throughput"].items():
        enc = row["encode"]
        for label, cell in row.items():
            if label in ("tokens", "chars", "encode"):
                continue
            lines.append(
                f"| {name} | {row['tokens']:,} | {enc['rate']:,.0f} | {label} | {cell['rate']:,.0f} "
                f"| {cell['rate_min']:,.0f}–{cell['rate_max']:,.0f} | {cell['ratio_to_encode']:.2f}× |"
            )
    v = results["vllm"]
    lines += [
        "",
        "vLLM's `GumbelWatermarkDetector`: "
        + (
            f"{v['rate']:,.0f} tokens/s on {v['tokens']:,} token ids (no tokenisation)."
            if v["available"]
            else f"not measured, vLLM does not import here ({v['reason']}). Its wheel is CUDA-only."
        ),
        "",
        "## Processor overhead per generated token",
        "",
    ]
    for t in results["tiny_llama"]:
        lines += [
            f"Tiny random Llama (1 layer, hidden 32, vocabulary {t['vocab']:,}, one torch thread), {t['new_tokens']} "
            "new tokens, sampling at temperature 1:",
            "",
            "| processor | ms per token | spread | overhead ms per token |",
            "|---|---:|---|---:|",
        ]
        for label in ("no processor", "green_list", "gumbel"):
            c = t[label]
            lines.append(
                f"| {label} | {c['ms_per_token']:.2f} | {c['spread_ms'][0]:.2f}–{c['spread_ms'][1]:.2f} | {c['overhead_ms']:+.2f} |"
            )
        lines.append("")
    npc = results["numpy_processor"]
    lines += [
        f"The llama.cpp processor (numpy) on one row of {calib.VOCAB:,} float32 logits (o200k's width): green_list "
        f"{npc['green_list']['ms']:.2f} ms, gumbel {npc['gumbel']['ms']:.2f} ms per call, against "
        f"{npc['softmax draw']['ms']:.2f} ms for a plain softmax draw over the same row. The cost is the keyed PRF "
        "over the whole vocabulary (one Philox-4x32-10 call per four token ids).",
        "",
        "## Detection rate by length (toy model)",
        "",
        f"Toy n-gram model over the prose of `bench/texts` (see WATERMARK_CALIBRATION.md), entropy target "
        f"{calib.DEFAULT_BITS} bits/token; cells: share of samples whose first N tokens reach p ≤ 1e-3 / p ≤ 1e-5.",
        "",
        "| scheme | δ | entropy (bits/token) | samples | "
        + " | ".join(f"{n} tokens" for n in calib.LENGTHS)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(calib.LENGTHS),
    ]
    for row in results["tpr"].values():
        cells = []
        for n in calib.LENGTHS:
            c = row.get(str(n))
            cells.append("—" if c is None else f"{100 * c['0.001']:.1f} % / {100 * c['1e-05']:.1f} %")
        delta = "—" if row["delta"] is None else f"{row['delta']:g}"
        lines.append(
            f"| {row['scheme']} | {delta} | {row['entropy_bits']:.2f} | {row['samples']} | "
            + " | ".join(cells)
            + " |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few rounds and samples (< 60 s)")
    parser.add_argument("--workers", type=int, default=2, help="generation processes (default 2)")
    args = parser.parse_args()
    rounds = 5 if args.quick else 21
    t0 = time.perf_counter()
    results: dict[str, Any] = {
        "config": {
            "commit": calib.commit_id(),
            "python": sys.version.split()[0],
            "rounds": rounds,
            "quick": args.quick,
        },
        "throughput": throughput(rounds),
        "vllm": vllm_detector(rounds),
    }
    vocabs = (32_000,) if args.quick else (32_000, 151_936)
    results["tiny_llama"] = [
        tiny_llama_overhead(3 if args.quick else 7, 40 if args.quick else 100, v) for v in vocabs
    ]
    results["numpy_processor"] = numpy_processor_cost(rounds * 4)
    samples, n_tokens = (6, 200) if args.quick else (50, 400)
    results["tpr"] = detection_rates(samples, n_tokens, args.workers)
    results["config"]["seconds"] = time.perf_counter() - t0
    text = report(results, args.quick)
    out = HERE / "results" / ("quick" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    (out / "WATERMARK.md").write_text(text, "utf-8")
    (out / "watermark.json").write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    print(text)


if __name__ == "__main__":
    main()
