// libFuzzer target: bitmap_sparse (unstructured sparse, a bitmask per 64 weights) packed
// weights from arbitrary bytes.
//
// The contract under test: every public function that reads a BitmapSparseMatrix checks it
// first (check_packed: O(1) sizes, validate(): the contents), and nothing but
// lsgemm::Error escapes; no crash, no out-of-bounds access, no undefined behaviour, no
// write to Y outside its view or before a throw. lsgemm::matmul runs on objects that pass
// only the O(1) check (offsets out of order or past nnz, masks with more bits than
// values, bits at columns >= K): the kernels clamp each chunk's offset to nnz and read
// inside the values' slack, so such an object gives wrong sums, never a bad access. Where
// validate() accepts the weight and X is finite, lsgemm::matmul must also agree with
// lsgemm::reference::matmul (each of the expand, outer and dense-panel paths, by the rows
// of X and the sparsity).
//
// Input: header fields (fuzz_input.hpp encodings): value type, N, K, group; then masks,
// offsets (read, or derived from the masks: see read_offsets), values and scales (length
// spec, content spec), then X, Y's shape, and the epilogue. make_seeds writes objects from
// pack() in this layout.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <lsgemm/lsgemm.hpp>

#include "fuzz_input.hpp"

namespace bs = lsgemm::bitmap_sparse;
using namespace lsgemm_fuzz;

LSGEMM_FUZZ_INITIALIZE()

namespace {

constexpr size_t kMaxMasks = 4 * 1024;        // mask words (u64): N x tiles
constexpr size_t kMaxOffsets = 4 * 1024 + 1;  // u32: N x chunks + 1
// f32 values of a dense 20 x 300 weight plus the slack: 25 KB; room for twice that.
constexpr size_t kMaxValueBytes = 64 * 1024;
constexpr size_t kMaxScales = 4 * 1024;       // f32

// How the offsets are given (OffsetsTag, fuzz_input.hpp). The offsets must match the
// masks' popcounts for validate() to accept the object, which a mutation of the masks (or
// of K) breaks: a derived tag keeps them in step, as kDerived does for header fields.
//   kOffsetsRead     a buffer like the others (length spec, content spec)
//   kOffsetsDerived  nothing: the prefix sums of the masks' popcounts (what pack() writes),
//                    N x chunks + 1 entries (none when that is unknown or beyond the cap)
//   kOffsetsTampered as derived, then 2 bytes i and 4 bytes v: entry i % size becomes v
//                    (an offset out of order or past nnz, offsets[0] != 0, a wrong nnz)

// The offsets derived from the masks: the prefix sums of their popcounts (a short masks
// buffer counts as zeros past its end), u32 wrapping as the format's offsets do; entry
// r * C + c for chunk c of row r, the last one nnz. `entries`: N x C + 1.
void derive_offsets(bs::BitmapSparseMatrix& w, int64_t tiles, int64_t entries) {
  w.offsets.resize(size_t(entries));
  uint32_t count = 0;
  size_t at = 0;
  for (int64_t r = 0; r < w.n; ++r)
    for (int64_t t = 0; t < tiles; ++t) {
      if (t % bs::kChunkTiles == 0) w.offsets[at++] = count;
      const size_t m = size_t(r * tiles + t);
      if (m < w.masks.size()) count += uint32_t(__builtin_popcountll(w.masks[m]));
    }
  w.offsets[at] = count;
}

void read_offsets(FuzzInput& in, bs::BitmapSparseMatrix& w, int64_t tiles, int64_t chunks) {
  const int64_t rows_chunks = mul_or_neg(w.n, chunks);
  const int64_t implied = rows_chunks < 0 || uint64_t(rows_chunks) >= kMaxOffsets ? -1 : rows_chunks + 1;
  const uint8_t tag = in.u8() % 3;
  if (tag == kOffsetsRead) return in.buffer(w.offsets, implied, kMaxOffsets);
  if (implied < 0)
    w.offsets.resize(0);
  else
    derive_offsets(w, tiles, implied);
  if (tag == kOffsetsTampered) {
    const uint16_t i = in.u16();
    const uint32_t v = in.u32();
    if (w.offsets.size()) w.offsets[i % w.offsets.size()] = v;
  }
}

bs::BitmapSparseMatrix read_weight(FuzzInput& in) {
  bs::BitmapSparseMatrix w;
  w.values_type = static_cast<bs::ValueType>(in.u8());  // out-of-range enum values included
  // N and K as read_shape reads them (its derived values), then the group: its derived
  // value is the one pack() stores for one scale per row of int8 values, kp (64 tiles),
  // so that a mutated K keeps a per-row weight consistent; f32 and bf16 take none (0).
  w.n = in.i64(16);
  w.k = in.i64(128);
  // The sizes the header implies, computed without overflow (-1: unknown or huge).
  const int64_t tiles = tiles_or_neg(w.k, bs::kTileK);
  const int64_t chunks = tiles_or_neg(tiles, bs::kChunkTiles);
  const int64_t kp = mul_or_neg(tiles, bs::kTileK);
  const bool ints = w.values_type == bs::ValueType::kInt8;
  w.group = in.i32(ints && kp > 0 && kp <= std::numeric_limits<int>::max() ? int(kp) : 0);
  const int64_t groups = !ints ? 0 : w.group > 0 && kp >= 0 ? kp / w.group + (kp % w.group != 0) : -1;

  in.buffer(w.masks, mul_or_neg(w.n, tiles), kMaxMasks);
  read_offsets(in, w, tiles, chunks);
  // Values: (nnz + slack) x value bytes, nnz the last offset (what check_packed asks).
  const int vbytes = bs::value_type_ok(w.values_type) ? bs::value_bytes(w.values_type) : -1;
  const int64_t nnz = w.offsets.size() ? int64_t(w.offsets[w.offsets.size() - 1]) : -1;
  in.buffer(w.values, nnz < 0 || vbytes < 0 ? -1 : (nnz + bs::kValueSlackValues) * vbytes, kMaxValueBytes);
  in.buffer(w.scales, mul_or_neg(w.n, groups), kMaxScales);
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const bs::BitmapSparseMatrix w = read_weight(in);
  // The roundings a kernel adds to the reference's: at most kp products per output,
  // summed in another order (int8 values: the f32 product s * q, as the reference), plus
  // the epilogue's: the family tester's bound. The reference validates the object, matmul
  // checks only its sizes (format.hpp): they agree on valid objects only.
  return check_packed_weight(
      "bitmap_sparse", in, w, [](const bs::BitmapSparseMatrix& q) { bs::validate(q); },
      [](const bs::BitmapSparseMatrix& q) { return bs::dequantize_to_vector(q); },
      [](const bs::BitmapSparseMatrix& q) { return q.kp() + 9; }, /*reference_validates=*/true);
}
