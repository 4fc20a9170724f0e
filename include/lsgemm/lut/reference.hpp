#pragma once
// lut oracle: the tables and the product exactly as format.hpp defines them, as plain
// loops. The kernels must build bit-identical tables (lo, hi, scale; xsum up to float
// summation order) and the same exact integer block sums; the float epilogue is
// accumulated here in double.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/lut/format.hpp"

namespace lsgemm {
namespace lut {
LSGEMM_ABI_BEGIN
namespace detail {

inline void check_tables_for(const Tables& t, const LutMatrix& w, int64_t y_rows, const char* where) {
  using lsgemm::detail::require;
  const TableSpec s = w.table_spec();
  require(t.spec == s, where, ": tables were built for K=", t.spec.k, " g=", t.spec.g, " block=", t.spec.block,
          " mode=", table_mode_name(t.spec.mode), " but the weight needs K=", s.k, " g=", s.g,
          " block=", s.block, " mode=", table_mode_name(s.mode), " (build them with w.table_spec())");
  require(t.m == y_rows, where, ": tables hold ", t.m, " rows of X but Y has ", y_rows, " rows");
  // s equals the checked weight's spec (kp < 2^31); t.m comes from the caller.
  const size_t bytes = size_t(lsgemm::detail::checked_mul(t.m, s.row_bytes(), where, "table bytes"));
  const size_t nb = size_t(lsgemm::detail::checked_mul(t.m, s.blocks(), where, "table blocks"));
  require(t.lo.size() == bytes && t.hi.size() == (s.mode == TableMode::kExact ? bytes : 0) &&
              t.scale.size() == nb && t.xsum.size() == nb,
          where, ": tables object is inconsistent with its spec (sizes)");
}

// The one message every table build gives for X outside the accepted range (finite,
// |x| <= kMaxAbsX: core/act_quant.hpp); the SIMD builds call it after their vector check.
inline constexpr const char* kTablesWhere = "lut::make_tables";
inline constexpr const char* kTablesMode = "table lookups";

// Checks a table spec against X (rows x cols) before any size is derived from it: K and
// kp in range, and rows * row_bytes() representable (the table build's buffer size).
inline void check_spec(const TableSpec& s, int64_t xrows, int64_t xcols, const char* where) {
  using lsgemm::detail::require;
  lsgemm::detail::require_dim(s.k, where, "table spec K");
  lsgemm::detail::require_dim(s.kp, where, "table spec kp");
  require((s.g == 4 && (s.block == 32 || s.block == 64 || s.block == 128)) || (s.g == 3 && s.block == 48), where,
          ": table spec g=", s.g, " block=", s.block, " (allowed: g=4 with block 32, 64 or 128, g=3 with block 48)");
  require(s.mode == TableMode::kExact || s.mode == TableMode::kFast, where, ": unknown table mode");
  require(s.k > 0 && s.kp >= s.k && s.kp % s.block == 0 && s.kp - s.k < s.block, where, ": table spec K=",
          s.k, " kp=", s.kp, " (kp must be K rounded up to a multiple of ", s.block, ")");
  require(xcols == s.k, where, ": X has ", xcols, " columns but the table spec has K=", s.k);
  lsgemm::detail::checked_mul(xrows, s.row_bytes(), where, "table bytes (rows of X x bytes per row)");
}

// Signed sum selected by the entry index, in the order that defines the float tables:
// planes: (x0? + x1?) + (x2? + x3?); triples: (d0 x0 + d1 x1) + d2 x2.
template <class T>
inline T table_entry(int g, int p, const T* x) {
  if (g == 4) {
    const T a = (p & 1) ? x[0] : T(0), b = (p & 2) ? x[1] : T(0);
    const T c = (p & 4) ? x[2] : T(0), d = (p & 8) ? x[3] : T(0);
    return (a + b) + (c + d);
  }
  if (p > 13) return T(0);
  int dg[3];
  LutMatrix::triple_digits(p, dg);
  T v[3];
  for (int e = 0; e < 3; ++e) v[e] = dg[e] > 0 ? x[e] : dg[e] < 0 ? -x[e] : T(0);
  return (v[0] + v[1]) + v[2];
}

}  // namespace detail

// The oracle's table build (the definition the kernels' make_tables must reproduce).
inline Tables make_tables_reference(HostView<const float> X, const TableSpec& spec) {
  using lsgemm::detail::require;
  lsgemm::detail::check_view(X, "X");
  detail::check_spec(spec, X.rows, X.cols, "lut::make_tables");
  lsgemm::detail::require_acts_in_range(X, 0, X.rows, detail::kTablesWhere, detail::kTablesMode);
  Tables t;
  t.m = X.rows;
  t.spec = spec;
  const int64_t B = spec.blocks(), kb = spec.block, g = spec.g;
  const int64_t segs_per_block = kb / (4 * g);
  t.lo.resize(size_t(t.m * spec.row_bytes()));
  if (spec.mode == TableMode::kExact) t.hi.resize(size_t(t.m * spec.row_bytes()));
  t.scale.resize(size_t(t.m * B));
  t.xsum.resize(size_t(t.m * B));
  // Row scratch only when there are rows: an empty X with a large K must not allocate.
  std::vector<float> x(t.m > 0 ? size_t(spec.kp) : 0);
  std::vector<int> xq(t.m > 0 ? size_t(spec.kp) : 0);
  for (int64_t m = 0; m < t.m; ++m) {
    std::fill(x.begin(), x.end(), 0.0f);
    for (int64_t c = 0; c < spec.k; ++c) x[size_t(c)] = X(m, c);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t k0 = b * kb;
      uint8_t* lo = t.lo.data() + m * spec.row_bytes() + b * segs_per_block * kSegBytes;
      if (spec.mode == TableMode::kExact) {
        float amax = 0.0f;
        for (int64_t c = k0; c < k0 + kb; ++c) amax = std::max(amax, std::fabs(x[size_t(c)]));
        float inv, sx;
        int32_t qsum = 0;
        if (int8_block_scale(amax, inv, sx)) {  // core/act_quant.hpp: a zero block below kTinyAmax
          for (int64_t c = k0; c < k0 + kb; ++c) {
            xq[size_t(c)] = quantize_int8(x[size_t(c)], inv);
            qsum += xq[size_t(c)];
          }
        } else {
          for (int64_t c = k0; c < k0 + kb; ++c) xq[size_t(c)] = 0;
        }
        t.scale[size_t(m * B + b)] = sx;
        t.xsum[size_t(m * B + b)] = sx * float(qsum);
        uint8_t* hi = t.hi.data() + (lo - t.lo.data());
        for (int64_t s = 0; s < segs_per_block; ++s)
          for (int j = 0; j < 4; ++j)
            for (int p = 0; p < 16; ++p) {
              const int e = detail::table_entry<int>(int(g), p, &xq[size_t(k0 + (4 * s + j) * g)]);
              lo[s * 64 + 16 * j + p] = uint8_t(e & 0xFF);
              hi[s * 64 + 16 * j + p] = uint8_t(int8_t(e >> 8));
            }
      } else {
        std::vector<float> e(size_t(segs_per_block * 64));
        float tmax = 0.0f, sum = 0.0f;
        for (int64_t c = k0; c < k0 + kb; ++c) sum += x[size_t(c)];
        for (int64_t s = 0; s < segs_per_block; ++s)
          for (int j = 0; j < 4; ++j)
            for (int p = 0; p < 16; ++p) {
              const float v = detail::table_entry<float>(int(g), p, &x[size_t(k0 + (4 * s + j) * g)]);
              e[size_t(s * 64 + 16 * j + p)] = v;
              tmax = std::max(tmax, std::fabs(v));
            }
        // The same rule as X blocks (core/act_quant.hpp): all-zero tables below kTinyAmax.
        float inv, ts;
        int8_block_scale(tmax, inv, ts);
        for (size_t i = 0; i < e.size(); ++i) lo[i] = uint8_t(int8_t(quantize_int8(e[i], inv)));
        t.scale[size_t(m * B + b)] = ts;
        t.xsum[size_t(m * B + b)] = sum;
      }
    }
  }
  return t;
}

// Table entry (as an integer) that sub-table j of segment s of row m holds at index p.
inline int table_value(const Tables& t, int64_t m, int64_t s, int j, int p) {
  const size_t i = size_t(m * t.spec.row_bytes() + s * kSegBytes + 16 * j + p);
  if (t.spec.mode == TableMode::kFast) return int8_t(t.lo[i]);
  return int(t.lo[i]) + 256 * int(int8_t(t.hi[i]));
}

// The exact integer sum of block b for (row m of X, row n of W): sum over the block's
// segments, sub-tables j and planes i of 2^i * T[index] (triples: +-T[|v|]).
inline int64_t block_sum(const Tables& t, const LutMatrix& w, int64_t m, int64_t n, int64_t b) {
  const int g = t.spec.g;
  const int64_t spb = t.spec.block / (4 * g);
  int64_t acc = 0;
  for (int64_t s = b * spb; s < (b + 1) * spb; ++s)
    for (int j = 0; j < 4; ++j) {
      const int64_t c0 = s * 4 * g + j * g;
      if (g == 3) {
        const int v = 9 * w.code(n, c0) + 3 * w.code(n, c0 + 1) + w.code(n, c0 + 2);
        const int e = table_value(t, m, s, j, std::abs(v));
        acc += v < 0 ? -e : e;
      } else {
        for (int i = 0; i < w.bits; ++i) {
          int p = 0;
          for (int u = 0; u < 4; ++u) p |= ((w.code(n, c0 + u) >> i) & 1) << u;
          acc += int64_t(table_value(t, m, s, j, p)) * (int64_t(1) << i);  // not << : entries can be negative
        }
      }
    }
  return acc;
}

LSGEMM_ABI_END
}  // namespace lut

namespace reference {
LSGEMM_ABI_BEGIN

inline lut::Tables make_tables(HostView<const float> X, const lut::TableSpec& spec) {
  return lut::make_tables_reference(X, spec);
}

// Y = X * W^T (+ bias) from prebuilt tables: y = sum_b S_g * scale_b * isum_b + C_g * xsum_b.
inline void matmul(const lut::Tables& t, const lut::LutMatrix& w, HostView<float> Y, const Epilogue& epi = {}) {
  lut::detail::check_packed(w, "lut::matmul");
  lsgemm::detail::check_view(Y, "Y");
  lsgemm::detail::require(Y.cols == w.n, "Y has ", Y.cols, " columns but the packed weight has N=", w.n,
                          " (Y must be M x N)");
  lut::detail::check_tables_for(t, w, Y.rows, "lut::matmul");
  const int64_t B = t.spec.blocks();
  for (int64_t m = 0; m < t.m; ++m) {
    for (int64_t n = 0; n < w.n; ++n) {
      double y = 0.0;
      for (int64_t b = 0; b < B; ++b) {
        float S, C;
        w.group_consts(n, b * t.spec.block / w.group, S, C);
        y += double(S) * double(t.scale[size_t(m * B + b)]) * double(lut::block_sum(t, w, m, n, b)) +
             double(C) * double(t.xsum[size_t(m * B + b)]);
      }
      Y(m, n) = float(apply_epilogue(epi, y, n, Y(m, n)));
    }
  }
}

inline void matmul(HostView<const float> X, const lut::LutMatrix& w, HostView<float> Y, const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  lut::detail::check_packed(w, "lut::matmul");
  const lut::Tables t = make_tables(X, w.table_spec());
  matmul(t, w, Y, epi);
}

// Per output (m, n): the sum of |terms| a float epilogue adds up,
// sum_b |S scale_b isum_b| + |C xsum_b|, and (through `blocks`) how many there are.
// Tests turn it into a tolerance: tol = c * (blocks + const) * eps_f32 * magnitude.
inline std::vector<double> matmul_magnitude(const lut::Tables& t, const lut::LutMatrix& w) {
  const int64_t B = t.spec.blocks();
  std::vector<double> mag(size_t(t.m * w.n), 0.0);
  for (int64_t m = 0; m < t.m; ++m)
    for (int64_t n = 0; n < w.n; ++n) {
      double s = 0.0;
      for (int64_t b = 0; b < B; ++b) {
        float S, C;
        w.group_consts(n, b * t.spec.block / w.group, S, C);
        s += std::fabs(double(S) * double(t.scale[size_t(m * B + b)]) * double(lut::block_sum(t, w, m, n, b))) +
             std::fabs(double(C) * double(t.xsum[size_t(m * B + b)]));
      }
      mag[size_t(m * w.n + n)] = s;
    }
  return mag;
}

LSGEMM_ABI_END
}  // namespace reference
}  // namespace lsgemm
