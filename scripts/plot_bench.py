#!/usr/bin/env python3
"""Reads a Google Benchmark JSON written by an lsgemm benchmark binary, prints the
comparison table, and with --plot DIR writes PNG charts into DIR.

    plot_bench.py build/bench/int_quant.json [--plot build/bench]

Rows are BM_<kernel>/N:…/K:…/M:…/T:…; with repetitions, the median aggregate is used
(the machine is shared, and the median ignores a disturbed repetition where the mean
would not). Columns:
  us           real time per call
  GB/s         weight bytes per call / time (packed bytes for lsgemm, dense for peers)
  GFLOP/s      2*M*N*K / time (integer ops for the s8 peer)
  x eigen      Eigen fp32 time / this time, same N, K, M, T (Eigen is the peer every
               build has)
  x fp32 best  fastest fp32 peer's time / this time, and which peer that was
  x onednn s8  oneDNN u8 x s8 time (BM_peer_onednn_s8_vnni where the run has it, else
               BM_peer_onednn_s8) / this time
  % probe      M=1 only: GB/s as a share of BM_probe_stream_read at the same T, i.e. of
               what a plain read got from DRAM in the same run

A JSON from bench/block_fp_bench gets the same table (its oneDNN peers run at M=128).
A JSON from bench/lut_bench (kernels BM_lut_*) gets its own table instead: the same
us / GB/s / % probe / GFLOP/s columns, plus bpw (bits per weight, from the label),
x int4 (the int_quant 4-bit W4A8 GEMV's time at the same N, K, M, T over this row's;
groups of 128, or 64 where 128 does not divide K),
x fp32 best, T2/T1 (on T=2 rows: the T=1 time of the same kernel and case over this
row's), then the table-build times and the LUT bars (DESIGN targets) with PASS/FAIL.
"""
import argparse
import json
import math
import os
import re
import sys

FP32_PEERS = ["peer_eigen_f32", "peer_openblas_f32", "peer_onednn_f32"]
# lsgemm kernels first, then peers, in a fixed order so tables of two runs line up.
ORDER = [
    "int4_g128_f32act", "int4_g128_f32act_hot", "int4_g128_int8act", "int4_g128_int8act_hot",
    "int4_g128_int8act_outliers", "w8a8",
    "peer_eigen_f32", "peer_openblas_f32", "peer_onednn_f32", "peer_onednn_s8",
]


def kernel_rank(kernel):
    """Sort key: ORDER's kernels in its order; other lsgemm kernels (block_fp's) after
    ORDER's and before the peers, by name; other peers last."""
    if kernel in ORDER:
        return (ORDER.index(kernel), "")
    if not kernel.startswith("peer_"):
        return (ORDER.index("peer_eigen_f32") - 0.5, kernel)
    return (len(ORDER), kernel)
TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def parse_name(run_name):
    """'BM_w8a8/N:4096/K:4096/M:1/T:2/real_time' -> ('w8a8', {'N': 4096, ...})."""
    parts = run_name.split("/")
    kernel = re.sub(r"^BM_", "", parts[0])
    params = {}
    for p in parts[1:]:
        if ":" in p:
            key, value = p.split(":", 1)
            try:
                params[key] = int(value)
            except ValueError:
                params[key] = value
    return kernel, params


def load(path):
    with open(path) as f:
        doc = json.load(f)
    runs = {}  # run_name -> dict; a median aggregate replaces a plain iteration entry
    for b in doc.get("benchmarks", []):
        run_name = b.get("run_name", b["name"])
        is_median = b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"
        is_plain = b.get("run_type", "iteration") == "iteration"
        if not (is_median or is_plain):
            continue
        if is_plain and run_name in runs and runs[run_name]["median"]:
            continue
        kernel, params = parse_name(run_name)
        entry = {"kernel": kernel, "params": params, "median": is_median,
                 "error": b.get("error_message") if b.get("error_occurred") else None}
        if not entry["error"]:
            entry["us"] = b["real_time"] * TO_US.get(b.get("time_unit", "ns"), 1e-3)
            entry["gbs"] = b.get("GB/s")
            entry["gflops"] = b.get("GFLOP/s")
            entry["label"] = b.get("label", "")
        runs[run_name] = entry
    return doc.get("context", {}), list(runs.values())


def fmt(v, digits=1):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def table(context, runs):
    probe = {r["params"].get("T"): r for r in runs if r["kernel"] == "probe_stream_read" and not r["error"]}
    gemm = [r for r in runs if r["kernel"] != "probe_stream_read"]
    key = lambda r: (r["params"].get("N"), r["params"].get("K"), r["params"].get("M"), r["params"].get("T"))
    by_case = {}
    for r in gemm:
        by_case.setdefault(key(r), {})[r["kernel"]] = r

    lines = []
    target = context.get("lsgemm_simd_target", "?")
    lines.append(f"lsgemm SIMD target: {target}   L3: {context.get('l3_bytes', '?')}   "
                 f"cold rotation: {context.get('cold_rotation_bytes', '?')}")
    if "openblas" in context:
        lines.append(f"OpenBLAS: {context['openblas']}   oneDNN: {context.get('onednn', '?')}")
    for t in sorted(probe):
        lines.append(f"probe (streaming read, >= 5x L3), T={t}: {fmt(probe[t]['gbs'])} GB/s")
    header = ["kernel", "N x K", "M", "T", "us", "GB/s", "GFLOP/s", "x eigen", "x fp32 best", "x onednn s8", "% probe"]
    rows = []
    for r in sorted(gemm, key=lambda r: (key(r), kernel_rank(r["kernel"]))):
        p = r["params"]
        shape = f"{p.get('N')}x{p.get('K')}"
        if r["error"]:
            rows.append([r["kernel"], shape, str(p.get("M")), str(p.get("T")), "ERROR: " + r["error"][:200]])
            continue
        case = by_case.get(key(r), {})
        eigen = case.get("peer_eigen_f32")
        vs_eigen = fmt(eigen["us"] / r["us"], 2) + "x" if eigen and not eigen["error"] else "-"
        peers = [(case[k]["us"], k) for k in FP32_PEERS if k in case and not case[k]["error"]]
        if peers:
            best_us, best = min(peers)
            vs_best = f"{fmt(best_us / r['us'], 2)}x ({best.replace('peer_', '').replace('_f32', '')})"
        else:
            vs_best = "-"
        # The int8 peer of the same run: capped at VNNI when that run has it.
        s8 = case.get("peer_onednn_s8_vnni") or case.get("peer_onednn_s8")
        vs_s8 = fmt(s8["us"] / r["us"], 2) + "x" if s8 and not s8["error"] else "-"
        pct = "-"
        if p.get("M") == 1 and p.get("T") in probe and r.get("gbs"):
            pct = f"{100.0 * r['gbs'] / probe[p['T']]['gbs']:.0f}%"
        rows.append([r["kernel"], shape, str(p.get("M")), str(p.get("T")), fmt(r["us"]), fmt(r["gbs"]),
                     fmt(r["gflops"]), vs_eigen, vs_best, vs_s8, pct])
    # An error row's message spans the numeric columns, so it does not set their width.
    widths = []
    for i, h in enumerate(header):
        cells = [len(row[i]) for row in rows if i < len(row) and (len(row) == len(header) or i < 4)]
        widths.append(max([len(h)] + cells))
    # Numbers right-aligned, names left-aligned.
    def render(cells):
        out = []
        for i, c in enumerate(cells):
            if len(cells) == 5 and i == 4:
                out.append(c)
                break
            out.append(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]))
        return "  ".join(out)
    lines.append(render(header))
    lines.append("  ".join("-" * w for w in widths))
    prev = None
    for row in rows:
        case = tuple(row[1:4])
        if prev is not None and case != prev:
            lines.append("")
        prev = case
        lines.append(render(row))
    lines.append("x eigen / x fp32 best: fp32 peer time at the same N, K, M, T divided by this "
                 "row's time (> 1: this row is faster). x onednn s8: the same for oneDNN u8 x s8 "
                 "(prepacked). % probe: GB/s over the probe's at the same T.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# LUT family (bench/lut_bench).

LUT_ORDER = [
    "lut_u1_g128_exact", "lut_u1_g128_fast", "lut_u2_g128_exact", "lut_u2_g128_fast",
    "lut_u3_g128_exact", "lut_u3_g128_fast", "lut_u4_g128_exact", "lut_u4_g128_fast",
    "lut_tern_planes_exact", "lut_tern_planes_fast", "lut_tern_triples_exact", "lut_tern_triples_fast",
]
INT4 = "int4_g128_int8act"  # the library's own 4-bit GEMV, in the same binary
INT4_ANY = [INT4, "int4_g64_int8act"]  # g64 where 128 does not divide K (K = 8640)

# The bars of the LUT kernels (4096 x 4096, weights cold): (name, kernel stem, check).
# Each is evaluated for both table modes; stems get "_exact" / "_fast" appended.
GEMV_BARS = [  # weight GB/s at M=1, T=1 as a share of the probe's T=1
    ("1-bit GEMV >= 70% of probe", "lut_u1_g128", 0.70),
    ("2-bit GEMV >= 85% of probe", "lut_u2_g128", 0.85),
    ("3-bit GEMV >= 80% of probe", "lut_u3_g128", 0.80),
    ("4-bit GEMV >= 80% of probe", "lut_u4_g128", 0.80),
    ("ternary triples GEMV >= 75% of probe", "lut_tern_triples", 0.75),
]
BAR_SHAPE = (4096, 4096)


def is_lut(runs):
    return any(r["kernel"].startswith("lut_") for r in runs)


def bpw_of(r):
    m = re.search(r"bpw=([0-9.]+)", r.get("label") or "")
    return float(m.group(1)) if m else None


def lut_order(kernel):
    base = re.sub(r"_(hot|prebuilt|shared3)$", "", kernel)
    variant = kernel[len(base):]
    if base in LUT_ORDER:
        return (0, LUT_ORDER.index(base), variant)
    if kernel in INT4_ANY:
        return (1, 0, "")
    if kernel in FP32_PEERS:
        return (2, FP32_PEERS.index(kernel), "")
    return (3, 0, kernel)


def render_rows(header, rows, left=2):
    """Aligned lines: header, rule, rows. A row shorter than the header (an error) shows
    its last cell unaligned after the others, and does not set column widths."""
    full = [row for row in rows if len(row) == len(header)]
    widths = [max([len(h)] + [len(row[i]) for row in full]) for i, h in enumerate(header)]

    def one(cells):
        if len(cells) < len(header):
            return "  ".join([one_cell(i, c) for i, c in enumerate(cells[:-1])] + [cells[-1]])
        return "  ".join(one_cell(i, c) for i, c in enumerate(cells))

    def one_cell(i, c):
        return c.ljust(widths[i]) if i < left else c.rjust(widths[i])
    return [one(header), "  ".join("-" * w for w in widths)] + [one(r) for r in rows]


def lut_table(context, runs):
    ok = [r for r in runs if not r["error"]]
    probe = {r["params"].get("T"): r for r in ok if r["kernel"] == "probe_stream_read"}
    mats = [r for r in runs if "N" in r["params"] and r["kernel"] != "probe_stream_read"]
    tables = [r for r in runs if r["kernel"].startswith("lut_make_tables")]
    key = lambda r: (r["params"].get("N"), r["params"].get("K"), r["params"].get("M"), r["params"].get("T"))
    by = {}
    for r in mats:
        if not r["error"]:
            by[(r["kernel"],) + key(r)] = r

    lines = [f"lsgemm SIMD target: {context.get('lsgemm_simd_target', '?')}   L3: {context.get('l3_bytes', '?')}   "
             f"cold rotation: {context.get('cold_rotation_bytes', '?')}"]
    if "openblas" in context:
        lines.append(f"OpenBLAS: {context['openblas']}")
    for t in sorted(probe):
        lines.append(f"probe (streaming read, >= 5x L3), T={t}: {fmt(probe[t]['gbs'])} GB/s")

    header = ["kernel", "N x K", "M", "T", "bpw", "us", "GB/s", "% probe", "GFLOP/s", "x int4", "x fp32 best", "T2/T1"]
    rows, cases = [], []
    for r in sorted(mats, key=lambda r: (key(r)[:3], key(r)[3], lut_order(r["kernel"]))):
        p = r["params"]
        shape = f"{p.get('N')}x{p.get('K')}"
        case = key(r)
        if r["error"]:
            rows.append([r["kernel"], shape, str(p.get("M")), str(p.get("T")), "ERROR: " + r["error"][:160]])
            cases.append(case)
            continue
        bpw = bpw_of(r)
        pct = "-"
        if p.get("M") == 1 and p.get("T") in probe and r.get("gbs"):
            pct = f"{100.0 * r['gbs'] / probe[p['T']]['gbs']:.0f}%"
        int4 = next((by[(k,) + case] for k in INT4_ANY if (k,) + case in by), None)
        vs_int4 = fmt(int4["us"] / r["us"], 2) + "x" if int4 and r["kernel"] not in INT4_ANY else "-"
        peers = [(by[(k,) + case]["us"], k) for k in FP32_PEERS if (k,) + case in by]
        vs_best = "-"
        if peers and r["kernel"] not in FP32_PEERS:
            best_us, best = min(peers)
            vs_best = f"{fmt(best_us / r['us'], 2)}x ({best.replace('peer_', '').replace('_f32', '')})"
        t2t1 = "-"
        if p.get("T") == 2:
            one = by.get((r["kernel"],) + case[:3] + (1,))
            if one:
                t2t1 = fmt(one["us"] / r["us"], 2) + "x"
        rows.append([r["kernel"], shape, str(p.get("M")), str(p.get("T")), fmt(bpw, 2) if bpw else "-",
                     fmt(r["us"]), fmt(r["gbs"]), pct, fmt(r["gflops"]), vs_int4, vs_best, t2t1])
        cases.append(case)
    if rows:
        rendered = render_rows(header, rows)
        lines += rendered[:2]
        prev = None
        for line, case in zip(rendered[2:], cases):
            if prev is not None and case[:3] != prev[:3]:
                lines.append("")  # a blank line between (N, K, M) cases
            prev = case
            lines.append(line)
        lines.append("x int4: int_quant int4 g128 W4A8 time / this time (same N, K, M, T); x fp32 best: the "
                     "fastest fp32 peer's; T2/T1: T=1 time / T=2 time of the same kernel; % probe: GB/s "
                     "over the probe's at the same T.")
    if tables:
        lines.append("")
        lines.append("Table build (make_tables) alone:")
        trows = []
        for r in sorted(tables, key=lambda r: (r["kernel"], r["params"].get("K"), r["params"].get("M"),
                                              r["params"].get("T"))):
            p = r["params"]
            if r["error"]:
                trows.append([r["kernel"], str(p.get("K")), str(p.get("M")), str(p.get("T")), "ERROR: " + r["error"][:120]])
            else:
                trows.append([r["kernel"], str(p.get("K")), str(p.get("M")), str(p.get("T")), fmt(r["us"], 2)])
        lines += render_rows(["kernel", "K", "M", "T", "us"], trows, left=1)
    return "\n".join(lines)


def lut_bars(runs):
    """The LUT bars, each as (bar, kernel, measured, verdict); verdict None = not measured."""
    ok = {}
    for r in runs:
        if not r["error"]:
            ok[(r["kernel"],) + tuple(r["params"].get(x) for x in ("N", "K", "M", "T"))] = r
    probe = {r["params"].get("T"): r["gbs"] for r in runs if r["kernel"] == "probe_stream_read" and not r["error"]}
    n, k = BAR_SHAPE
    get = lambda kern, m, t: ok.get((kern, n, k, m, t))
    out = []
    for mode in ("exact", "fast"):
        for name, stem, frac in GEMV_BARS:
            kern = f"{stem}_{mode}"
            r = get(kern, 1, 1)
            if r and 1 in probe and r.get("gbs"):
                share = r["gbs"] / probe[1]
                note = ""
                if stem == "lut_tern_triples":
                    bpw = bpw_of(r)
                    note = f", {bpw:.2f} bpw" if bpw else ""
                    if bpw and bpw > 1.7:
                        share = -1.0  # the bar is for <= 1.7 bpw
                out.append((name, kern, f"{fmt(r['gbs'])} GB/s = {100 * max(share, 0):.0f}% of {fmt(probe[1])}{note}",
                            share >= frac))
            else:
                out.append((name, kern, "not measured", None))
        kern = f"lut_u2_g128_{mode}"
        r, i4 = get(kern, 1, 1), get(INT4, 1, 1)
        if r and i4:
            ratio = i4["us"] / r["us"]
            out.append(("2-bit GEMV >= 1.8x the int4 GEMV", kern,
                        f"{fmt(r['us'])} vs {fmt(i4['us'])} us = {ratio:.2f}x", ratio >= 1.8))
        else:
            out.append(("2-bit GEMV >= 1.8x the int4 GEMV", kern, "not measured", None))
        r = get(kern, 128, 1)
        if r and r.get("gflops"):
            out.append(("2-bit GEMM M=128 T=1 >= 400 GFLOP/s", kern, f"{fmt(r['gflops'])} GFLOP/s", r["gflops"] >= 400))
        else:
            out.append(("2-bit GEMM M=128 T=1 >= 400 GFLOP/s", kern, "not measured", None))
        r = get(kern, 1, 2)
        if r and 2 in probe and r.get("gbs"):
            share = r["gbs"] / probe[2]
            out.append(("2-bit GEMV T=2 within 15% of probe T=2", kern,
                        f"{fmt(r['gbs'])} GB/s = {100 * share:.0f}% of {fmt(probe[2])}", share >= 0.85))
        else:
            out.append(("2-bit GEMV T=2 within 15% of probe T=2", kern, "not measured", None))
        r1, r2 = get(kern, 128, 1), get(kern, 128, 2)
        if r1 and r2:
            ratio = r1["us"] / r2["us"]
            out.append(("2-bit GEMM M=128: T=2 >= 1.8x T=1", kern,
                        f"{fmt(r2['gflops'])} vs {fmt(r1['gflops'])} GFLOP/s = {ratio:.2f}x", ratio >= 1.8))
        else:
            out.append(("2-bit GEMM M=128: T=2 >= 1.8x T=1", kern, "not measured", None))
    return out


def lut_bars_text(runs):
    bars = lut_bars(runs)
    rows = [[b, k, m, "-" if v is None else ("PASS" if v else "FAIL")] for b, k, m, v in bars]
    lines = [f"LUT bars (N x K = {BAR_SHAPE[0]}x{BAR_SHAPE[1]}, weights cold, medians of this run):"]
    lines += render_rows(["bar", "kernel", "measured", "verdict"], rows, left=3)
    passed = sum(1 for b in bars if b[3])
    measured = sum(1 for b in bars if b[3] is not None)
    lines.append(f"{passed} of {measured} measured bars pass ({len(bars) - measured} not measured).")
    return "\n".join(lines)


def plot(runs, outdir, family="int_quant"):
    try:
        import matplotlib
        matplotlib.use("Agg")  # no display on a build machine
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib (python3-matplotlib)", file=sys.stderr)
        return 1
    os.makedirs(outdir, exist_ok=True)
    ok = [r for r in runs if not r["error"]]
    probe = {r["params"].get("T"): r["gbs"] for r in ok if r["kernel"] == "probe_stream_read"}
    # Matrix products only (the LUT table-build rows have K, M, T but no N).
    gemm = [r for r in ok if r["kernel"] != "probe_stream_read" and "N" in r["params"]]
    shapes = sorted({(r["params"]["N"], r["params"]["K"]) for r in gemm})
    threads = sorted({r["params"]["T"] for r in gemm})
    if family == "lut":
        kernels = sorted({r["kernel"] for r in gemm}, key=lut_order)
    else:
        kernels = sorted({r["kernel"] for r in gemm}, key=kernel_rank)
    written = []
    for n, k in shapes:
        # Throughput against M: where each kernel turns from bandwidth- to compute-bound.
        for t in threads:
            fig, ax = plt.subplots(figsize=(8, 5))
            drawn = False
            for kern in kernels:
                pts = sorted((r["params"]["M"], r["gflops"]) for r in gemm
                             if r["kernel"] == kern and r["params"]["N"] == n and r["params"]["K"] == k
                             and r["params"]["T"] == t and r["gflops"])
                if not pts:
                    continue
                style = "--" if kern.startswith("peer_") else "-"
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", label=kern)
                drawn = True
            if not drawn:
                plt.close(fig)
                continue
            ax.set_xscale("log", base=2)
            ax.set_xlabel("M (tokens)")
            ax.set_ylabel("GFLOP/s")
            ax.set_title(f"{family} vs peers, N={n} K={k}, {t} thread(s), cold weights")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
            path = os.path.join(outdir, f"{family}_gflops_N{n}_K{k}_T{t}.png")
            fig.tight_layout()
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(path)
        # Decode (M=1): weight bandwidth against the probe, the ceiling of a GEMV.
        m1 = [r for r in gemm if r["params"]["M"] == 1 and r["params"]["N"] == n and r["params"]["K"] == k]
        if m1:
            fig, ax = plt.subplots(figsize=(9, 5))
            names = [kern for kern in kernels if any(r["kernel"] == kern for r in m1)]
            width = 0.8 / max(1, len(threads))
            for i, t in enumerate(threads):
                vals = []
                for kern in names:
                    hit = [r["gbs"] for r in m1 if r["kernel"] == kern and r["params"]["T"] == t]
                    vals.append(hit[0] if hit else 0.0)
                xs = [j + i * width for j in range(len(names))]
                ax.bar(xs, vals, width=width, label=f"T={t}")
                if t in probe:
                    ax.axhline(probe[t], linestyle=":", color=f"C{i}", label=f"probe T={t}")
            ax.set_xticks([j + width * (len(threads) - 1) / 2 for j in range(len(names))])
            ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
            ax.set_ylabel("weight GB/s")
            ax.set_title(f"M=1 weight bandwidth, N={n} K={k}")
            ax.legend(fontsize=8)
            fig.tight_layout()
            path = os.path.join(outdir, f"{family}_m1_gbps_N{n}_K{k}.png")
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(path)
    for p in written:
        print(f"wrote {p}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", help="Google Benchmark JSON output")
    ap.add_argument("--plot", metavar="DIR", help="also write PNG charts into DIR")
    ap.add_argument("--vnni", metavar="JSON", help="a second run with oneDNN capped at VNNI, tabled apart")
    a = ap.parse_args()
    context, runs = load(a.json)
    if not runs:
        print(f"{a.json}: no benchmark results", file=sys.stderr)
        return 1
    if is_lut(runs):
        print(lut_table(context, runs))
        print()
        print(lut_bars_text(runs))
        return plot(runs, a.plot, "lut") if a.plot else 0
    print(table(context, runs))
    if a.vnni:
        vcontext, vruns = load(a.vnni)
        print("\nSecond run, oneDNN capped at VNNI (ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI): "
              "'x onednn s8' is against peer_onednn_s8_vnni")
        print(table(vcontext, vruns))
    if a.plot:
        return plot(runs, a.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
