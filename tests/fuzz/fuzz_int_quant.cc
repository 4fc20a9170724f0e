// libFuzzer target: int_quant packed weights from arbitrary bytes.
//
// The contract under test: every public function that reads a QuantizedMatrix checks it
// first, and nothing but lsgemm::Error escapes; no crash, no out-of-bounds access, no
// undefined behaviour, no write to Y outside its view or before a throw. Where
// validate() accepts the weight and X is finite, lsgemm::matmul must also agree with
// lsgemm::reference::matmul.
//
// Input: header fields (fuzz_input.hpp encodings), then codes, scales and zero points
// (length spec, content spec), then X, Y's shape, and the epilogue. make_seeds writes
// objects from pack() in this layout.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <lsgemm/lsgemm.hpp>

#include "fuzz_input.hpp"

namespace iq = lsgemm::int_quant;
using namespace lsgemm_fuzz;

LSGEMM_FUZZ_INITIALIZE()

namespace {

constexpr size_t kMaxBytes = 16 * 1024;  // codes and zero points
constexpr size_t kMaxHalves = 8 * 1024;  // scales (f16)

iq::QuantizedMatrix read_weight(FuzzInput& in) {
  iq::QuantizedMatrix w;
  const bool group_is_kp = read_flags(in, w);
  w.bits = in.i32(4);
  w.act = static_cast<iq::ActMode>(int8_t(in.u8()));  // out-of-range enum values included
  w.outlier_threshold = in.f32();
  // Per-channel, kp is K rounded up to the K unit; per-group, kp is K.
  read_shape(in, w, group_is_kp,
             [&](int64_t k, int) { return w.per_channel ? round_up_or_same(k, iq::kKUnit) : k; });

  // The sizes the header implies, computed without overflow (-1: unknown or huge).
  const int64_t tiles = tiles_or_neg(w.n, iq::kTileRows);
  const int64_t tile_bytes = w.bits > 0 ? mul_or_neg(w.kp, int64_t(iq::kTileRows) * w.bits) / 8 : -1;
  const int64_t groups = w.group > 0 ? (w.kp >= 0 ? w.kp / w.group : -1) : 0;
  const int64_t codes = mul_or_neg(tiles, tile_bytes);
  const int64_t consts = mul_or_neg(mul_or_neg(tiles, groups), iq::kTileRows);

  in.buffer(w.codes, codes, kMaxBytes);
  in.buffer(w.scales, consts, kMaxHalves);
  in.buffer(w.zeros, w.symmetric ? 0 : consts, kMaxBytes);
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const iq::QuantizedMatrix w = read_weight(in);
  return check_packed_weight(
      "int_quant", in, w, [](const iq::QuantizedMatrix& q) { iq::validate(q); },
      [](const iq::QuantizedMatrix& q) { return iq::dequantize_to_vector(q); },
      [](const iq::QuantizedMatrix& q) { return q.k + 2; });
}
