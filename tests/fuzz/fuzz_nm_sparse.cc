// libFuzzer target: nm_sparse (N:M structured sparse) packed weights from arbitrary bytes.
//
// The contract under test: every public function that reads an NmSparseMatrix checks it
// first, and nothing but lsgemm::Error escapes; no crash, no out-of-bounds access, no
// undefined behaviour, no write to Y outside its view or before a throw. Where
// validate() accepts the weight and X is finite, lsgemm::matmul must also agree with
// lsgemm::reference::matmul (int8 activation mode: X with |x| > 2^64 is rejected by
// both, so an accepted X is in range).
//
// Input: header fields (fuzz_input.hpp encodings), then values, index words and scales
// (length spec, content spec), then X, Y's shape, and the epilogue. make_seeds writes
// objects from pack() in this layout.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <lsgemm/lsgemm.hpp>

#include "fuzz_input.hpp"

namespace nm = lsgemm::nm_sparse;
using namespace lsgemm_fuzz;

LSGEMM_FUZZ_INITIALIZE()

namespace {

// f32 values take 8 times the bytes of int4 codes per slot: twice the other targets'
// code cap, so that an f32 weight of a few tiles fits.
constexpr size_t kMaxValueBytes = 32 * 1024;
constexpr size_t kMaxWords = 4 * 1024;   // index words (u32)
constexpr size_t kMaxHalves = 8 * 1024;  // scales (f16)

nm::NmSparseMatrix read_weight(FuzzInput& in) {
  nm::NmSparseMatrix w;
  w.values_type = static_cast<nm::ValueType>(int8_t(in.u8()));  // out-of-range enum values included
  w.act = static_cast<lsgemm::ActMode>(int8_t(in.u8()));
  w.nnz = in.i32(2);
  w.run = in.i32(4);
  // The harness derives nothing (kp) from a pattern the format does not allow.
  const bool pattern = nm::pattern_ok(w.nnz, w.run);
  // kp is K rounded up to whole index words and (ints) whole groups: NmSparseMatrix::k_unit().
  read_shape(
      in, w, false,
      [&](int64_t k, int group) {
        if (!pattern) return k;
        const int64_t span = int64_t(nm::runs_per_word(w.nnz, w.run)) * w.run;
        return round_up_or_same(k, w.ints() ? std::max<int64_t>(span, group) : span);
      },
      w.ints() ? 128 : 0);

  // The sizes the header implies, computed without overflow (-1: unknown or huge).
  const int64_t tiles = tiles_or_neg(w.n, nm::kTileRows);
  const int64_t runs = pattern && w.kp >= 0 ? w.kp / w.run : -1;
  const int64_t slot_bits = mul_or_neg(mul_or_neg(runs, w.nnz), int64_t(nm::kTileRows) * nm::value_bits(w.values_type));
  const int64_t tile_bytes = slot_bits < 0 ? -1 : slot_bits / 8;
  const int64_t words = runs < 0 ? -1 : runs / nm::runs_per_word(w.nnz, w.run);
  const int64_t groups = !w.ints() ? 0 : w.group > 0 && w.kp >= 0 ? w.kp / w.group : -1;

  in.buffer(w.values, mul_or_neg(tiles, tile_bytes), kMaxValueBytes);
  in.buffer(w.indices, mul_or_neg(mul_or_neg(tiles, words), nm::kTileRows), kMaxWords);
  in.buffer(w.scales, mul_or_neg(mul_or_neg(tiles, groups), nm::kTileRows), kMaxHalves);
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const nm::NmSparseMatrix w = read_weight(in);
  // The roundings a kernel adds to the reference's: float activations, one per slot (at
  // most kp per row); int8 activations, exact int sums and one f32 term per group.
  return check_packed_weight(
      "nm_sparse", in, w, [](const nm::NmSparseMatrix& q) { nm::validate(q); },
      [](const nm::NmSparseMatrix& q) { return nm::dequantize_to_vector(q); },
      [](const nm::NmSparseMatrix& q) { return (q.act == lsgemm::ActMode::kInt8 ? q.groups() : q.kp) + 8; });
}
