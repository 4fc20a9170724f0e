#!/usr/bin/env python3
"""Writes the element and block test vectors of tests/numeric_codec_test.cc.

    pip install ml_dtypes numpy
    python3 tests/vectors/make_block_fp_vectors.py          # rewrites tests/vectors/*.txt

The oracle is independent of the C++: element casts are ml_dtypes' (float8_e4m3fn,
float8_e5m2, float6_e3m2fn, float6_e2m3fn, float4_e2m1fn, float8_e8m0fnu), the block
rules are written out below in numpy float32 arithmetic. The random inputs come from a
fixed seed, so a second run rewrites the same bytes (with the same ml_dtypes and numpy;
their versions are in every file's header).

Files and line formats (hex is lower case; f32 values are their 8-digit bit patterns):

  minifloat_<fmt>.txt   fmt = e4m3, e5m2, e3m2, e2m3, e2m1
    d <code> <f32>           the value of each code, every code 0 .. 2^bits - 1 once
    e <f32> <sat> <cast>     the codes of an f32 input: sat = clip to +-max, then astype
                             (the MX conversion); cast = plain astype (non-saturating)
  e8m0.txt
    d <code> <f32>           the value of each of the 256 codes (0xff: NaN)
    p <se> <code>            astype(2^se) for se = -127 .. 127 (decimal se): the byte se + 127
  block_mx.txt, block_nvfp4.txt, block_bfp.txt: rows, each five or six lines:
    row <kind> <block> <K>   kind: fp8_e4m3 fp8_e5m2 fp6_e3m2 fp6_e2m3 fp4_e2m1 int8 (MX),
                             nvfp4, bfp3 .. bfp8 (m mantissa bits); the row is cut into
                             blocks of <block> values, the last one short when block
                             does not divide K
    t <f32>                  nvfp4 only: the tensor scale of the row (from its amax)
    x <f32> ... (K)          the inputs
    s <scale bytes>          one byte per block, two hex digits each, no separators
    c <codes>                one code per input, two hex digits each, no separators
    y <f32> ... (K)          the decoded values, in f32: MX e8m0(s) * element (INT8:
                             int8(c) / 64), BFP e8m0(s) * mant / 2^(m - 2), NVFP4
                             (t * e4m3(s)) * e2m1(c)
Every file starts with '#' comment lines; '# count <tag> <n>' gives how many lines of
each tag follow, so the reader can tell a truncated file from a complete one.

The block rules (block_fp/quantize.hpp states them too):
  MX: amax == 0 -> scale byte 0, codes 0. Else se = floor(log2 amax) - emax clamped to
      [-127, 127], byte se + 127; element = sat-cast(v * 2^-se) (ldexp: exact as long as
      the result is an f32 normal; below that every element rounds to +-0 anyway);
      INT8: clip(rint(v * 2^(6 - se)), -127, 127).
  NVFP4: ts = amax_row / 2688 (1 when that is 0); bs = sat-cast_e4m3((amax_b / 6) / ts);
      dec = ts * e4m3(bs); element = sat-cast_e2m1(v / dec), all 0 when dec == 0.
  BFP m: amax == 0 -> byte 0, mantissas 0. Else se = floor(log2 amax) clamped to
      [-127, 127], byte se + 127; mant = clip(rint(v * 2^(m - 2 - se)), -(2^(m-1) - 1),
      2^(m-1) - 1), stored as its low m bits.
"""

import os
import sys

import ml_dtypes
import numpy as np

SEED = 20250611
OUT_DIR = os.path.dirname(os.path.abspath(__file__))
F32 = np.float32

# name: (ml_dtypes type, bits)
MINIFLOATS = {
    "e4m3": (ml_dtypes.float8_e4m3fn, 8),
    "e5m2": (ml_dtypes.float8_e5m2, 8),
    "e3m2": (ml_dtypes.float6_e3m2fn, 6),
    "e2m3": (ml_dtypes.float6_e2m3fn, 6),
    "e2m1": (ml_dtypes.float4_e2m1fn, 4),
}
# MX element kind: (minifloat name or None for INT8, emax)
MX_ELEMENTS = {
    "fp8_e4m3": ("e4m3", 8),
    "fp8_e5m2": ("e5m2", 15),
    "fp6_e3m2": ("e3m2", 4),
    "fp6_e2m3": ("e2m3", 2),
    "fp4_e2m1": ("e2m1", 2),
    "int8": (None, 0),
}


def hx(values):
    """float32 values as 8-digit hex bit patterns."""
    return [f"{int(u):08x}" for u in np.asarray(values, dtype=F32).reshape(-1).view(np.uint32)]


def f32_of_bits(bits):
    return np.asarray(bits, dtype=np.uint32).view(F32)


def fmax(name):
    return F32(ml_dtypes.finfo(MINIFLOATS[name][0]).max)


def decode(name, codes):
    t, bits = MINIFLOATS[name]
    codes = np.asarray(codes, dtype=np.uint8)
    assert np.all(codes < (1 << bits))
    return codes.view(t).astype(F32)


def cast_codes(name, x):
    """ml_dtypes astype, as codes (checked to fit the format's width)."""
    t, bits = MINIFLOATS[name]
    c = np.asarray(x, dtype=F32).astype(t).view(np.uint8)
    assert np.all(c < (1 << bits)), name
    return c


def sat_codes(name, x):
    """The MX conversion: clip to +-max (NaN passes through), then astype."""
    m = fmax(name)
    return cast_codes(name, np.clip(np.asarray(x, dtype=F32), -m, m))


def header(kind, counts):
    lines = [
        f"# lsgemm test vectors: {kind}",
        "# made by tests/vectors/make_block_fp_vectors.py (line formats: its docstring);"
        f" seed {SEED}",
        f"# ml_dtypes {ml_dtypes.__version__}, numpy {np.__version__}",
    ]
    lines += [f"# count {tag} {n}" for tag, n in counts]
    return lines


def write(fname, lines):
    with open(os.path.join(OUT_DIR, fname), "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def unique_f32(values):
    """float32 values, duplicates (by bits) removed, first occurrence kept."""
    seen = set()
    out = []
    for u in np.asarray(values, dtype=F32).view(np.uint32):
        if int(u) not in seen:
            seen.add(int(u))
            out.append(int(u))
    return f32_of_bits(out)


def nextafters(x):
    x = np.asarray(x, dtype=F32)
    return np.concatenate([np.nextafter(x, F32(-np.inf)), x, np.nextafter(x, F32(np.inf))])


# ---------------------------------------------------------------------------------------
# Element vectors


def element_inputs(name, rng):
    t, bits = MINIFLOATS[name]
    mags = decode(name, np.arange(1 << (bits - 1)))
    mags = np.sort(mags[np.isfinite(mags)])  # 0 and every finite positive value
    top = mags[-1]
    step_top = top - mags[-2]  # the step of the top binade
    mids = (mags[:-1] + mags[1:]) / F32(2)  # ties between neighbours (exact in f32)
    beyond = top + step_top / F32(2)  # the overflow tie: 464, 61440, 30, 7.75, 7
    min_sub = mags[1]
    fixed = [
        mags,
        nextafters(mags[1:]),
        nextafters(mids),
        nextafters([beyond, top * F32(2), min_sub / F32(2), min_sub / F32(4), min_sub * F32(0.75)]),
        [F32(1e30), F32(np.finfo(F32).max), F32(np.inf), F32(2.0**-126)],
        f32_of_bits([1, 0x7FFFFF, 0x400000, 0x12345]),  # f32 subnormals
    ]
    pos = np.concatenate([np.asarray(v, dtype=F32).reshape(-1) for v in fixed])
    pos = pos[pos >= 0]
    # Random values, log-uniform from well under the smallest subnormal to 4 * max.
    lo, hi = np.log2(float(min_sub)) - 6, np.log2(float(top)) + 2
    n_rand = {8: 400, 6: 300, 4: 200}[bits]
    e = rng.uniform(lo, hi, n_rand)
    rnd = F32(2.0) ** e.astype(F32)
    pos = np.concatenate([pos, rnd.astype(F32)])
    xs = np.concatenate([pos, -pos])
    nans = f32_of_bits([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFBFFFFF, 0x7FA00000, 0xFFFFFFFF])
    return unique_f32(np.concatenate([xs, nans]))


def write_minifloat(name, rng):
    t, bits = MINIFLOATS[name]
    codes = np.arange(1 << bits)
    dec = decode(name, codes)
    xs = element_inputs(name, rng)
    sat = sat_codes(name, xs)
    cast = cast_codes(name, xs)
    lines = header(f"{name} element codec (ml_dtypes {t.__name__})",
                   [("d", len(codes)), ("e", len(xs))])
    lines += [f"d {int(c):02x} {h}" for c, h in zip(codes, hx(dec))]
    lines += [f"e {h} {int(s):02x} {int(c):02x}" for h, s, c in zip(hx(xs), sat, cast)]
    write(f"minifloat_{name}.txt", lines)


def write_e8m0():
    codes = np.arange(256, dtype=np.uint8)
    dec = codes.view(ml_dtypes.float8_e8m0fnu).astype(F32)
    ses = np.arange(-127, 128)
    pw = np.ldexp(F32(1.0), ses.astype(np.int32)).astype(F32)  # 2^-127: an f32 subnormal
    enc = pw.astype(ml_dtypes.float8_e8m0fnu).view(np.uint8)
    lines = header("E8M0 scale codec (ml_dtypes float8_e8m0fnu)", [("d", 256), ("p", len(ses))])
    lines += [f"d {int(c):02x} {h}" for c, h in zip(codes, hx(dec))]
    lines += [f"p {int(s)} {int(c):02x}" for s, c in zip(ses, enc)]
    write("e8m0.txt", lines)


# ---------------------------------------------------------------------------------------
# Block rules (the oracle)


def floor_log2(a):
    """floor(log2 a) for a finite float32 a > 0, subnormals included (frexp: a = f 2^e,
    f in [0.5, 1))."""
    _, e = np.frexp(F32(a))
    return int(e) - 1


def amax_of(v):
    return F32(np.max(np.abs(v))) if len(v) else F32(0)


def mx_block(kind, v):
    name, emax = MX_ELEMENTS[kind]
    amax = amax_of(v)
    if amax == 0:
        return 0, np.zeros(len(v), np.uint8)
    se = min(max(floor_log2(amax) - emax, -127), 127)
    if name is None:
        q = np.clip(np.rint(np.ldexp(v, np.int32(6 - se))), -127, 127)
        return se + 127, q.astype(np.int8).view(np.uint8)
    return se + 127, sat_codes(name, np.ldexp(v, np.int32(-se)))


def mx_decoded(kind, s, c):
    name, _ = MX_ELEMENTS[kind]
    scale = np.asarray([s], np.uint8).view(ml_dtypes.float8_e8m0fnu).astype(F32)[0]
    if name is None:
        elem = c.view(np.int8).astype(F32) / F32(64)
    else:
        elem = decode(name, c)
    return scale * elem


def nvfp4_tensor_scale(amax_row):
    ts = F32(amax_row) / F32(2688)
    return F32(1) if ts == 0 else ts


def nvfp4_block(v, ts):
    amax = amax_of(v)
    bs = int(sat_codes("e4m3", [(amax / F32(6)) / ts])[0])
    dec = ts * decode("e4m3", [bs])[0]
    if dec == 0:
        return bs, np.zeros(len(v), np.uint8)
    return bs, sat_codes("e2m1", v / dec)


def nvfp4_decoded(ts, s, c):
    return (ts * decode("e4m3", [s])[0]) * decode("e2m1", c)


def bfp_block(m, v):
    amax = amax_of(v)
    if amax == 0:
        return 0, np.zeros(len(v), np.uint8)
    se = min(max(floor_log2(amax), -127), 127)
    lim = (1 << (m - 1)) - 1
    q = np.clip(np.rint(np.ldexp(v, np.int32(m - 2 - se))), -lim, lim).astype(np.int16)
    return se + 127, (q & ((1 << m) - 1)).astype(np.uint8)


def bfp_decoded(m, s, c):
    scale = np.asarray([s], np.uint8).view(ml_dtypes.float8_e8m0fnu).astype(F32)[0]
    q = c.astype(np.int16)
    q = np.where(q >= (1 << (m - 1)), q - (1 << m), q)
    return scale * (q.astype(F32) * F32(2.0 ** -(m - 2)))


# ---------------------------------------------------------------------------------------
# Block data


def grid_of(kind):
    """Non-negative element values (units of the block scale) and their emax."""
    if kind.startswith("bfp"):
        m = int(kind[3:])
        return np.arange(1 << (m - 1), dtype=F32) * F32(2.0 ** -(m - 2)), 0
    name, emax = MX_ELEMENTS[kind]
    if name is None:
        return np.arange(128, dtype=F32) / F32(64), 0
    g = decode(name, np.arange(1 << (MINIFLOATS[name][1] - 1)))
    return np.sort(g[np.isfinite(g)]), emax


def pattern(kind, what, n, rng):
    """n values of one block pattern for scheme kind (MX element, bfpM or nvfp4)."""
    sign = np.where(rng.random(n) < 0.5, F32(-1), F32(1)).astype(F32)
    if what == "normal":
        return (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3)).astype(F32)
    if what == "outlier":
        v = rng.standard_normal(n).astype(F32) * F32(0.01)
        v[rng.integers(n)] = F32(rng.choice([-1, 1]) * rng.uniform(50, 500))
        return v.astype(F32)
    if what == "zeros":
        return np.where(rng.random(n) < 0.5, F32(-0.0), F32(0.0)).astype(F32)
    if what == "subnormal":  # f32 subnormals only (around 1e-40), one exact 2^-149
        v = (rng.uniform(-1, 1, n) * 1e-40).astype(F32)
        v[0] = f32_of_bits([1])[0]
        return v
    if what == "saturate":  # amax with a mantissa near 2: scaled just under 2^(emax + 1)
        e = int(rng.integers(-20, 20))
        v = (rng.uniform(-1, 1, n) * 2.0**e).astype(F32)
        v[0] = F32(1.999 * 2.0**e)
        if n > 1:
            v[1] = F32(-1.99 * 2.0**e)
        return v
    if what == "huge":  # amax near f32 max: scaled small values fall below 2^-126
        v = (rng.uniform(-1, 1, n) * 3e38).astype(F32)
        small = F32([1e-5, -3e-6, 1e-10, 1.0, -2.0**-100, 7e-38])
        k = min(n - 1, len(small))
        v[1:1 + k] = small[:k]
        return v
    if what == "pow2":  # amax exactly a power of two, and its f32 predecessor
        e = int(rng.integers(-30, 30))
        v = (rng.uniform(-1, 1, n) * 2.0 ** (e - 1)).astype(F32)
        v[0] = F32(2.0**e)
        if n > 1:
            v[1] = -np.nextafter(F32(2.0**e), F32(0))
        return v
    if what == "ties":
        if kind == "nvfp4":  # ts = 1 in the row (its amax is 2688); amax_b = 6 -> dec = 1
            mids = F32([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0])
            v = mids[rng.integers(len(mids), size=n)] * sign
            v[0] = F32(6.0)
            return v.astype(F32)
        g, emax = grid_of(kind)
        mids = (g[:-1] + g[1:]) / F32(2)
        se = int(rng.integers(-20, 20))
        v = (mids[rng.integers(len(mids), size=n)] * sign).astype(F32)
        v[0] = F32(2.0**emax)  # sets floor(log2 amax) = emax (every tie is below 2^(emax + 1))
        return np.ldexp(v, np.int32(se)).astype(F32)
    raise ValueError(what)


def nvfp4_row_extra(rng):
    """Rows only NVFP4 needs: block scales that tie or round, and a row with ts = 1."""
    rows = []
    # ts = 1 (row amax 2688); block amaxes 6 * {1.0625 (tie 1 / 1.125), 1.1875 (tie 1.125 /
    # 1.25), 0.0078125 (2^-7), 2^-10 (E4M3's smallest subnormal 2^-9, halved: a tie to 0)}
    blocks = [np.concatenate([[F32(2688)], rng.uniform(-2688, 2688, 15).astype(F32)])]
    for a in (1.0625, 1.1875, 2.0**-7, 2.0**-10):
        b = rng.uniform(-1, 1, 16).astype(F32) * F32(6 * a)
        b[0] = F32(6 * a)
        blocks.append(b.astype(F32))
    rows.append(np.concatenate(blocks + [pattern("nvfp4", "ties", 16, rng)]))
    # Subnormal tensor: ts itself is subnormal.
    rows.append((rng.uniform(-1, 1, 40) * 1e-39).astype(F32))
    # A tensor so small that amax / 2688 underflows to 0: ts falls back to 1.
    tiny = rng.integers(0, 200, 20).astype(np.uint32)  # f32 subnormals up to 199 * 2^-149
    rows.append(f32_of_bits(tiny | (rng.integers(0, 2, 20).astype(np.uint32) << np.uint32(31))))
    return rows


def block_rows(kind, block, rng):
    """The rows of one (scheme, block) pair: several blocks of mixed patterns, a partial
    last block, and a row shorter than one block."""
    b = block
    a = ["normal", "outlier", "zeros", "ties"]
    c = ["subnormal", "saturate", "huge", "pow2"]
    if b >= 32 and kind.startswith("bfp"):  # keep the files small: fewer blocks per row
        # (ties and zero blocks are a matter of m, which blocks of 8 and 16 cover)
        a = ["outlier", "zeros", "ties"] if b == 32 else ["outlier", "saturate"]
        c = ["subnormal", "saturate", "huge"] if b == 32 else ["subnormal", "huge"]
    rows = [
        np.concatenate([pattern(kind, p, b, rng) for p in a] + [pattern(kind, "normal", b // 2 + 1, rng)]),
        np.concatenate([pattern(kind, p, b, rng) for p in c] + [pattern(kind, "pow2", 3, rng)]),
        pattern(kind, "normal", max(b - 3, 1), rng),
    ]
    return rows


def emit_row(lines, kind, block, x, quant, decoded, ts=None):
    x = np.asarray(x, dtype=F32)
    scales, codes, ys = [], [], []
    for k0 in range(0, len(x), block):
        v = x[k0:k0 + block]
        s, c = quant(v)
        scales.append(int(s))
        codes.extend(int(t) for t in c)
        ys.append(decoded(int(s), np.asarray(c, np.uint8)))
    lines.append(f"row {kind} {block} {len(x)}")
    if ts is not None:
        lines.append("t " + hx([ts])[0])
    lines.append("x " + " ".join(hx(x)))
    lines.append("s " + "".join(f"{s:02x}" for s in scales))
    lines.append("c " + "".join(f"{c:02x}" for c in codes))
    lines.append("y " + " ".join(hx(np.concatenate(ys))))


def write_blocks(rng):
    mx = []
    for kind in MX_ELEMENTS:
        for x in block_rows(kind, 32, rng):
            emit_row(mx, kind, 32, x, lambda v, k=kind: mx_block(k, v), lambda s, c, k=kind: mx_decoded(k, s, c))
    n = sum(1 for s in mx if s.startswith("row "))
    write("block_mx.txt", header("MX blocks (OCP MX v1.0, FLOOR scale rule)", [("row", n)]) + mx)

    nv = []
    rows = block_rows("nvfp4", 16, rng) + nvfp4_row_extra(rng)
    for x in rows:
        ts = nvfp4_tensor_scale(amax_of(x))
        emit_row(nv, "nvfp4", 16, x, lambda v, t=ts: nvfp4_block(v, t), lambda s, c, t=ts: nvfp4_decoded(t, s, c), ts)
    n = sum(1 for s in nv if s.startswith("row "))
    write("block_nvfp4.txt", header("NVFP4 blocks (E2M1, UE4M3 block scale, f32 tensor scale)", [("row", n)]) + nv)

    bf = []
    for m in range(3, 9):
        for block in (8, 16, 32, 64):
            kind = f"bfp{m}"
            for x in block_rows(kind, block, rng):
                emit_row(bf, kind, block, x, lambda v, mm=m: bfp_block(mm, v), lambda s, c, mm=m: bfp_decoded(mm, s, c))
    n = sum(1 for s in bf if s.startswith("row "))
    write("block_bfp.txt", header("BFP blocks (shared exponent, m-bit mantissas)", [("row", n)]) + bf)


def main():
    np.seterr(all="ignore")  # overflow to Inf and NaN casts are part of the inputs
    rng = np.random.default_rng(SEED)
    for name in MINIFLOATS:
        write_minifloat(name, rng)
    write_e8m0()
    write_blocks(rng)
    print(f"ml_dtypes {ml_dtypes.__version__}, numpy {np.__version__}: vectors written to {OUT_DIR}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
