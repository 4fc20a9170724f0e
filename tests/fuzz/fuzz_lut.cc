// libFuzzer target: lut packed weights (and tables) from arbitrary bytes.
//
// The contract under test: every public function that reads a LutMatrix, a TableSpec or
// a Tables object checks it first, and nothing but lsgemm::Error escapes; no crash, no
// out-of-bounds access, no undefined behaviour, no write to Y outside its view or before
// a throw. Where validate() accepts the weight and X is finite, the kernels must agree
// with the reference: the same tables (lo, hi and scale bit for bit, as reference.hpp
// defines them) and close products.
//
// Input: header fields (fuzz_input.hpp encodings), then codes, scales and offsets (length
// spec, content spec), then X, Y's shape, the epilogue, and two bytes that tamper with
// the table spec and the built tables. make_seeds writes objects from pack() in this layout.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <lsgemm/lsgemm.hpp>

#include "fuzz_input.hpp"

namespace lut = lsgemm::lut;
using namespace lsgemm_fuzz;

LSGEMM_FUZZ_INITIALIZE()

namespace {

constexpr size_t kMaxBytes = 16 * 1024;  // codes
constexpr size_t kMaxHalves = 8 * 1024;  // scales and offsets (f16)
// The lut reference decodes every code once per bit plane, and a run makes three passes
// (matmul from X, from tables, the magnitude): a quarter of the int_quant bound.
constexpr int64_t kMaxLutReferenceWork = kMaxReferenceWork / 4;

lut::LutMatrix read_weight(FuzzInput& in) {
  lut::LutMatrix w;
  const bool group_is_kp = read_flags(in, w);
  w.kind = static_cast<lut::WeightKind>(int8_t(in.u8()));  // out-of-range enum values included
  w.table_mode = static_cast<lut::TableMode>(int8_t(in.u8()));
  const bool triples = w.kind == lut::WeightKind::kTernaryTriples;
  w.bits = in.i32(triples ? 0 : 2);
  // pack() stores per-channel with group = kp, and kp follows K by the X block, which
  // follows the group: so the group is read first (0 stands for "kp" until kp is known).
  read_shape(in, w, group_is_kp, [&](int64_t k, int group) {
    const int block = triples ? 48 : group == 32 || group == 64 ? group : 128;
    return round_up_or_same(k, block);
  });

  // The sizes the header implies, computed without overflow (-1: unknown or huge).
  const int64_t tiles = tiles_or_neg(w.n, lut::kTileRows);
  const int64_t blocks = triples ? (w.kp >= 0 ? w.kp / 24 : -1)
                                 : (w.bits >= 0 ? mul_or_neg(w.kp, w.bits) / 32 : -1);
  const int64_t codes = mul_or_neg(tiles, mul_or_neg(blocks, triples ? 80 : 64));
  const int64_t groups = w.group > 0 && w.kp >= 0 ? w.kp / w.group + (w.kp % w.group != 0) : -1;
  const int64_t consts = mul_or_neg(mul_or_neg(tiles, groups), lut::kTileRows);
  const bool offsets = w.kind == lut::WeightKind::kUniform && !w.symmetric;

  in.buffer(w.codes, codes, kMaxBytes);
  in.buffer(w.scales, consts, kMaxHalves);
  in.buffer(w.offsets, offsets ? consts : 0, kMaxHalves);
  return w;
}

// A spec the caller built by hand: one field replaced (1 time in 4).
bool tamper_spec(FuzzInput& in, lut::TableSpec& s) {
  switch (in.u8() % 16) {
    case 12: s.g = in.i32(s.g); return true;
    case 13: s.block = in.i32(s.block); return true;
    case 14: s.kp = in.i64(s.kp); s.k = in.i64(s.k); return true;
    case 15: s.mode = static_cast<lut::TableMode>(int8_t(in.u8())); return true;
    default: return false;
  }
}

template <class T>
bool drop_last(lsgemm::AlignedBuffer<T>& b) {
  if (b.size() == 0) return false;
  lsgemm::AlignedBuffer<T> c(b.size() - 1);
  if (c.size()) std::memcpy(c.data(), b.data(), c.bytes());
  b = std::move(c);
  return true;
}

// Tables a caller mangled (1 time in 2): every one must be rejected by matmul(tables, ...).
bool tamper_tables(uint8_t how, lut::Tables& t) {
  switch (how % 8) {
    case 4: t.m += 1; return true;
    case 5: return drop_last(t.lo);
    case 6: {
      const bool had = t.hi.size() != 0;
      t.hi = lsgemm::AlignedBuffer<uint8_t>();
      return had;
    }
    case 7: return drop_last(t.xsum);
    default: return false;
  }
}

void check_tables_equal(const lut::Tables& a, const lut::Tables& r, const Activations& x) {
  const auto same = [](const auto& p, const auto& q) {
    return p.size() == q.size() && (p.size() == 0 || std::memcmp(p.data(), q.data(), p.bytes()) == 0);
  };
  if (a.m != r.m || a.spec != r.spec) fail("make_tables: kernel and reference tables differ in shape");
  if (!same(a.lo, r.lo)) fail("make_tables: lo bytes differ from the reference's");
  if (!same(a.hi, r.hi)) fail("make_tables: hi bytes differ from the reference's");
  if (!same(a.scale, r.scale)) fail("make_tables: scales differ from the reference's");
  if (a.xsum.size() != r.xsum.size()) fail("make_tables: xsum sizes differ");
  for (int64_t m = 0; m < a.m; ++m) {
    double row_abs = 0.0;  // bounds the rounding of any block's sum, in any order
    for (int64_t c = 0; c < x.cols; ++c) row_abs += std::fabs(double(x(m, c)));
    const int64_t B = a.spec.blocks();
    for (int64_t b = 0; b < B; ++b)
      require_close("make_tables xsum", a.xsum[size_t(m * B + b)], r.xsum[size_t(m * B + b)], row_abs,
                    a.spec.block);
  }
}

// Products from X (or tables) against the reference's, bounded by the magnitudes of the
// reference tables' products.
void compare_products(const char* what, const CallInputs& c, const GuardedOutput& y, const GuardedOutput& yr,
                      const lut::Tables& tr, const lut::LutMatrix& w) {
  c.require_close_outputs(what, y, yr, lsgemm::reference::matmul_magnitude(tr, w), tr.m, w.n, tr.spec.blocks() + 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const lut::LutMatrix w = read_weight(in);
  const CallInputs c(in, w.k, w.n);
  lut::TableSpec spec = w.table_spec();
  const bool spec_tampered = tamper_spec(in, spec);
  const uint8_t tables_tamper = in.u8();

  const bool valid = call("lut::validate", [&] { lut::validate(w); });
  check_dequantize("lut::dequantize_to_vector", valid, [&] { return lut::dequantize_to_vector(w); },
                   [&] { return lsgemm::dequantize(w); });

  // The kernels run whenever the work is bounded; the (slow) reference on the smaller
  // inputs, and then both must agree: on validity, on the tables, on the products.
  const bool with_reference = c.work() <= kMaxLutReferenceWork && c.x_size() <= kMaxReferenceWork;
  lut::Tables t, tr;
  const bool t_ok = call("lsgemm::make_tables", [&] { t = lsgemm::make_tables(c.x.view(), spec); });
  if (with_reference) {
    const bool tr_ok = call("reference::make_tables", [&] { tr = lsgemm::reference::make_tables(c.x.view(), spec); });
    if (t_ok != tr_ok) fail("make_tables and reference::make_tables disagree on whether the input is valid");
    if (t_ok) check_tables_equal(t, tr, c.x);  // X was accepted: the same tables, bit for bit
  }

  if (c.work() > kMaxWork) return 0;
  const bool comparable = with_reference && valid && c.x.finite && c.fits(w.k, w.n) && c.x.rows > 0;

  GuardedOutput y = c.output(), yr = c.output();
  bool ok = c.run_kernel("lsgemm::matmul(X)", y, valid, w.k, w.n,
                         [&] { lsgemm::matmul(c.x.view(), w, y.view(), c.epi); });
  if (with_reference) {
    const bool ref_ok =
        yr.run("reference::matmul(X)", [&] { lsgemm::reference::matmul(c.x.view(), w, yr.view(), c.epi); });
    if (ok != ref_ok) fail("lsgemm::matmul(X) and reference::matmul(X) disagree on whether the input is valid");
    if (ok && comparable && t_ok && !spec_tampered) compare_products("lut matmul(X)", c, y, yr, tr, w);
  }

  if (!t_ok) return 0;
  const bool mangled = tamper_tables(tables_tamper, t);
  ok = y.run("lsgemm::matmul(tables)", [&] { lsgemm::matmul(t, w, y.view(), c.epi); });
  if (mangled && ok) fail("matmul(tables) accepted tables inconsistent with their spec");
  if (!with_reference) return 0;
  tamper_tables(tables_tamper, tr);
  const bool ref_ok =
      yr.run("reference::matmul(tables)", [&] { lsgemm::reference::matmul(tr, w, yr.view(), c.epi); });
  if (ok != ref_ok) fail("lsgemm::matmul(tables) and reference::matmul(tables) disagree on validity");
  if (ok && comparable && !spec_tampered && !mangled) compare_products("lut matmul(tables)", c, y, yr, tr, w);
  return 0;
}
