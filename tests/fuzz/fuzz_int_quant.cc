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

namespace {

constexpr size_t kMaxBytes = 16 * 1024;  // codes and zero points
constexpr size_t kMaxHalves = 8 * 1024;  // scales (f16)

// Flag bits of the first byte.
constexpr uint8_t kPerChannelBit = 1, kSymmetricBit = 2, kGroupIsKpBit = 4;

iq::QuantizedMatrix read_weight(FuzzInput& in) {
  iq::QuantizedMatrix w;
  const uint8_t flags = in.u8();
  w.per_channel = flags & kPerChannelBit;
  w.symmetric = flags & kSymmetricBit;
  w.bits = in.i32(4);
  w.act = static_cast<iq::ActMode>(int8_t(in.u8()));  // out-of-range enum values included
  w.outlier_threshold = in.f32();
  // pack() stores per-channel with group = kp: then the group is not read but follows kp.
  w.group = (flags & kGroupIsKpBit) ? 0 : in.i32(128);
  w.n = in.i64(16);
  w.k = in.i64(128);
  w.kp = in.i64(w.per_channel ? round_up_or_same(w.k, iq::kKUnit) : w.k);
  if (flags & kGroupIsKpBit) w.group = int(uint32_t(uint64_t(w.kp)));

  // The sizes the header implies, computed without overflow (-1: unknown or huge).
  const int64_t tiles = w.n > 0 ? w.n / iq::kTileRows + (w.n % iq::kTileRows != 0) : -1;
  const int64_t tile_bytes = w.bits > 0 ? mul_or_neg(w.kp, int64_t(iq::kTileRows) * w.bits) / 8 : -1;
  const int64_t groups = w.group > 0 ? (w.kp >= 0 ? w.kp / w.group : -1) : 0;
  const int64_t codes = mul_or_neg(tiles, tile_bytes);
  const int64_t consts = mul_or_neg(mul_or_neg(tiles, groups), iq::kTileRows);

  w.codes.resize(in.length(codes, kMaxBytes));
  in.content(w.codes.data(), w.codes.bytes());
  w.scales.resize(in.length(consts, kMaxHalves));
  in.content(w.scales.data(), w.scales.bytes());
  w.zeros.resize(in.length(w.symmetric ? 0 : consts, kMaxBytes));
  in.content(w.zeros.data(), w.zeros.bytes());
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  lsgemm::set_num_threads(1);  // one input at a time, deterministic, no pool start-up per run
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const iq::QuantizedMatrix w = read_weight(in);
  Activations x;
  x.read(in, w.k);
  const int64_t ycols = output_cols(in, x.rows, w.n);
  const uint8_t yseed = in.u8();
  const uint8_t epi_bits = in.u8();
  Lcg bias_values(in.u8());

  const bool valid = call("int_quant::validate", [&] { iq::validate(w); });
  check_dequantize("int_quant::dequantize_to_vector", valid, [&] { return iq::dequantize_to_vector(w); },
                   [&] { return lsgemm::dequantize(w); });

  const int64_t work = x.rows == 0 ? 0 : x.rows * (x.cols > 0 ? x.cols : 0) * ycols;
  if (work > kMaxWork) return 0;
  std::vector<float> bias(size_t(x.rows > 0 ? ycols : 0));
  for (auto& b : bias) b = bias_values.next();
  lsgemm::Epilogue epi;
  if ((epi_bits & 1) && !bias.empty()) epi.bias = bias.data();
  epi.accumulate = epi_bits & 2;

  GuardedOutput y(x.rows, ycols, yseed), yr(x.rows, ycols, yseed);
  const bool ok = y.run("lsgemm::matmul", [&] { lsgemm::matmul(x.view(), w, y.view(), epi); });
  const bool shapes_right = x.cols == w.k && ycols == w.n;
  if (valid && x.tame && shapes_right && !ok) fail("matmul rejected a weight that validate() accepted");
  if (work > kMaxReferenceWork) return 0;
  const bool ref_ok = yr.run("reference::matmul", [&] { lsgemm::reference::matmul(x.view(), w, yr.view(), epi); });
  if (ok != ref_ok) fail("lsgemm::matmul and reference::matmul disagree on whether the input is valid");
  if (!(ok && valid && x.finite) || x.rows == 0) return 0;

  const std::vector<double> mag = lsgemm::reference::matmul_magnitude(x.view(), w);
  for (int64_t m = 0; m < x.rows; ++m)
    for (int64_t n = 0; n < w.n; ++n) {
      const double extra = (epi.bias ? std::fabs(double(bias[size_t(n)])) : 0.0) +
                           (epi.accumulate ? std::fabs(double(y.initial(m, n))) : 0.0);
      require_close("int_quant matmul", y(m, n), yr(m, n), mag[size_t(m * w.n + n)] + extra, w.k + 2);
    }
  return 0;
}
