#pragma once
// What the fuzz targets share: a reader that turns the fuzzer's bytes into field values
// (its encodings are also what make_seeds writes), X built from a few bytes, a Y with
// guard cells, the call wrapper that enforces "nothing but lsgemm::Error escapes", and
// the inputs of a matmul call besides the weight (X, Y and the epilogue), read the same
// way by every target.
//
// Reading past the end of the input yields zeros, so every byte string is a valid input
// and a short one means "the rest is zero": the fuzzer never wastes runs on a parse error.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"

// libFuzzer's one-time set-up, the same for every target: one thread, so that a run is
// deterministic and starts no pool. A macro that each target expands once, rather than a
// definition here, because make_seeds includes this header too and is no fuzz target
// (the targets include lsgemm.hpp, which declares set_num_threads).
#define LSGEMM_FUZZ_INITIALIZE()                       \
  extern "C" int LLVMFuzzerInitialize(int*, char***) { \
    lsgemm::set_num_threads(1);                        \
    return 0;                                          \
  }

namespace lsgemm_fuzz {

// ---- Encodings -------------------------------------------------------------------
// An integer field is a tag byte (taken mod kIntTags), then:
//   kSmall    2 bytes: 0 .. 65535             kTable   1 byte: an index into kEdgeInts
//   kRaw      8 bytes: any int64              kNegative 2 bytes: 0 .. -65535
//   kDerived  nothing: the value consistent with the fields read before (the caller's),
//             so that a mutation of K keeps kp and group in step and deep code stays reachable.
enum IntTag : uint8_t { kSmall = 0, kTable = 1, kRaw = 2, kNegative = 3, kDerived = 4 };
inline constexpr int kIntTags = 5;

// Values on the edges of the formats' arithmetic: tile and block multiples and their
// neighbours, group sizes, and the overflow points of int32, size_t and int64.
inline constexpr int64_t kEdgeInts[] = {
    0, 1, -1, 2, 3, 4, 8, 12, 15, 16, 17, 24, 31, 32, 33, 47, 48, 49, 63, 64, 65, 96, 127, 128, 129,
    255, 256, 257, 4096, 65535, 65536, 65537, -4, -16, -128,
    int64_t(1) << 31, (int64_t(1) << 31) - 1, (int64_t(1) << 31) - 256, int64_t(1) << 32, int64_t(1) << 40, int64_t(1) << 59,
    int64_t(1) << 60, int64_t(1) << 62, std::numeric_limits<int64_t>::max() - 15,
    std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
    std::numeric_limits<int64_t>::min() + 16};
inline constexpr int kEdgeIntCount = int(sizeof(kEdgeInts) / sizeof(kEdgeInts[0]));

// A float field is a tag byte (mod kFloatTags), then:
//   kFloatTable 1 byte: an index into kEdgeFloats   kFloatRaw 4 bytes: any bit pattern
//   kFloatSmall 1 byte: int8 / 4 (ordinary values, -32 .. 31.75)
enum FloatTag : uint8_t { kFloatTable = 0, kFloatRaw = 1, kFloatSmall = 2 };
inline constexpr int kFloatTags = 3;

// The values that break float code: NaN, infinities, the ends of the finite range
// (1e37 overflows once multiplied by a scale), values whose reciprocal overflows (1e-38),
// subnormals, signed zero, the edges of f16, and 2^64 and the float above it (the
// largest |x| the int8 and table modes take).
inline constexpr float kEdgeFloats[] = {
    0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 6.0f, 127.0f,
    std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
    std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
    1e37f, -1e37f, 3e38f, std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
    1e-38f, -1e-38f, std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(),
    -std::numeric_limits<float>::denorm_min(), 1e-7f, 65504.0f, 65520.0f, -65504.0f, 0x1p64f,
    -0x1p64f, 0x1.000002p64f};
inline constexpr int kEdgeFloatCount = int(sizeof(kEdgeFloats) / sizeof(kEdgeFloats[0]));

// A buffer is a length spec and a content spec.
//   length: tag byte (mod 4), then 2 bytes p:
//     0 the length the header implies (when it is known and within the cap; else p)
//     1 that length plus (p % 5) - 2: the off-by-a-few sizes a size check must catch
//     2 p itself, capped     3 empty
//   content: mode byte (mod 3): 0 zeros; 1 a pattern: 1 byte L, L bytes, repeated;
//     2 raw: exactly the buffer's bytes follow (zeros past the end of the input).
enum LengthTag : uint8_t { kImplied = 0, kImpliedNear = 1, kExplicit = 2, kEmpty = 3 };
enum ContentTag : uint8_t { kZeros = 0, kPattern = 1, kBytes = 2 };

// An int_quant or lut weight header starts with a flags byte, the same in both layouts:
// per-channel, symmetric, and "the group is not stored but follows kp" (how pack()
// stores a per-channel weight). nm_sparse has none of these, and no flags byte.
inline constexpr uint8_t kPerChannelBit = 1, kSymmetricBit = 2, kGroupIsKpBit = 4;

// bitmap_sparse's offsets (a tag byte, mod 3) are a buffer like the others, or derived
// from the masks; see fuzz_bitmap_sparse.cc.
enum OffsetsTag : uint8_t { kOffsetsRead = 0, kOffsetsDerived = 1, kOffsetsTampered = 2 };

// ---- Reader ----------------------------------------------------------------------
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

  // Little-endian; the low part is read in its own statement, since the two operands
  // of | are evaluated in no fixed order.
  uint8_t u8() { return p_ < end_ ? *p_++ : 0; }
  uint16_t u16() {
    const uint16_t lo = u8();
    return uint16_t(lo | (u8() << 8));
  }
  uint32_t u32() {
    const uint32_t lo = u16();
    return lo | (uint32_t(u16()) << 16);
  }
  uint64_t u64() {
    const uint64_t lo = u32();
    return lo | (uint64_t(u32()) << 32);
  }

  void bytes(void* dst, size_t n) {
    if (n == 0) return;  // dst may be the null data() of an empty buffer
    auto* d = static_cast<uint8_t*>(dst);
    for (size_t i = 0; i < n; ++i) d[i] = u8();
  }

  int64_t i64(int64_t derived) {
    switch (u8() % kIntTags) {
      case kSmall: return u16();
      case kTable: return kEdgeInts[u8() % kEdgeIntCount];
      case kRaw: return int64_t(u64());
      case kNegative: return -int64_t(u16());
      default: return derived;
    }
  }
  // An int field: the int64 encoding wrapped to 32 bits, so INT_MIN and friends occur.
  int i32(int derived) { return int(uint32_t(uint64_t(i64(derived)))); }

  float f32() {
    switch (u8() % kFloatTags) {
      case kFloatTable: return kEdgeFloats[u8() % kEdgeFloatCount];
      case kFloatRaw: {
        const uint32_t b = u32();
        float f;
        std::memcpy(&f, &b, 4);
        return f;
      }
      default: return float(int8_t(u8())) / 4.0f;
    }
  }

  // A buffer length in elements: `implied` is what the header asks for (-1: unknown or
  // beyond the cap), `cap` the most this harness allocates.
  size_t length(int64_t implied, size_t cap) {
    const uint8_t tag = u8() % 4;
    const uint16_t p = u16();
    const size_t fallback = size_t(p) % (cap + 1);
    const bool known = implied >= 0 && uint64_t(implied) <= cap;
    switch (tag) {
      case kImplied: return known ? size_t(implied) : fallback;
      case kImpliedNear: {
        if (!known) return fallback;
        const int64_t v = implied + int64_t(p % 5) - 2;
        return v < 0 ? 0 : uint64_t(v) > cap ? cap : size_t(v);
      }
      case kExplicit: return fallback;
      default: return 0;
    }
  }

  // A packed buffer: its length spec (see length()), resizing b, then its content spec.
  template <class Buffer>
  void buffer(Buffer& b, int64_t implied, size_t cap) {
    b.resize(length(implied, cap));
    content(b.data(), b.bytes());
  }

  // Fills n bytes per the content spec (a pattern is read even when n is 0, so that
  // what follows does not move with the buffer's length).
  void content(void* dst, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    const uint8_t mode = u8() % 3;
    if (mode == kBytes) return bytes(d, n);
    uint8_t pat[255];
    const size_t len = mode == kPattern ? u8() : 0;
    bytes(pat, len);
    if (n == 0) return;
    if (len == 0) {
      std::memset(d, 0, n);
      return;
    }
    // The pattern once, then doubling copies: buffers of up to the cap are filled on every run.
    size_t done = len < n ? len : n;
    std::memcpy(d, pat, done);
    while (done < n) {
      const size_t step = done < n - done ? done : n - done;
      std::memcpy(d + done, d, step);
      done += step;
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// ---- Weight headers ----------------------------------------------------------------
// The parts of the families' weight headers that are laid out alike.

// The flags byte: sets w.per_channel and w.symmetric; true when the group follows kp.
template <class Weight>
bool read_flags(FuzzInput& in, Weight& w) {
  const uint8_t flags = in.u8();
  w.per_channel = flags & kPerChannelBit;
  w.symmetric = flags & kSymmetricBit;
  return flags & kGroupIsKpBit;
}

// The shape fields, in this order: the group (unless it follows kp; then 0 until kp is
// known), N, K, and kp, whose derived value kp_for(k, group) keeps it in step with a
// mutated K, so that deep code stays reachable. `group_derived`: the group a derived tag
// stands for (nm_sparse's float values take none: 0).
template <class Weight, class KpFor>
void read_shape(FuzzInput& in, Weight& w, bool group_is_kp, KpFor&& kp_for, int group_derived = 128) {
  w.group = group_is_kp ? 0 : in.i32(group_derived);
  w.n = in.i64(16);
  w.k = in.i64(128);
  w.kp = in.i64(kp_for(w.k, w.group));
  if (group_is_kp) w.group = int(uint32_t(uint64_t(w.kp)));
}

// Row tiles of a weight of n rows, or -1 when n is not positive (the size is unknown).
inline int64_t tiles_or_neg(int64_t n, int64_t tile_rows) { return n > 0 ? n / tile_rows + (n % tile_rows != 0) : -1; }

// ---- Checks ----------------------------------------------------------------------
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "lsgemm fuzz: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}

// Runs f(); true when it returned, false when it threw lsgemm::Error. Anything else
// escaping is a finding (the contract: bad input throws lsgemm::Error, nothing else).
template <class F>
bool call(const char* what, F&& f) {
  try {
    f();
    return true;
  } catch (const lsgemm::Error&) {
    return false;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lsgemm fuzz: %s threw %s\n", what, e.what());
    fail("an exception other than lsgemm::Error escaped");
  } catch (...) {
    std::fprintf(stderr, "lsgemm fuzz: %s threw a non-std exception\n", what);
    fail("an exception other than lsgemm::Error escaped");
  }
}

// Both dequantize entry points of a family (flat(): the std::vector one, dense(): the
// Eigen one): a weight that validate() accepted must pass both, and where both return
// they must agree bit for bit.
template <class Flat, class Dense>
void check_dequantize(const char* flat_name, bool valid, Flat&& flat, Dense&& dense) {
  std::vector<float> v;
  decltype(dense()) d;
  const bool flat_ok = call(flat_name, [&] { v = flat(); });
  const bool dense_ok = call("lsgemm::dequantize", [&] { d = dense(); });
  if (valid && !(flat_ok && dense_ok)) fail("validate() accepted a weight that dequantize rejected");
  if (flat_ok && dense_ok &&
      (size_t(d.size()) != v.size() ||
       (!v.empty() && std::memcmp(d.data(), v.data(), v.size() * sizeof(float)) != 0)))
    fail("lsgemm::dequantize and dequantize_to_vector differ");
}

// The harness's own arithmetic on header fields must not overflow either (UBSan would
// blame the harness): these saturate to -1, meaning "unknown / too large".
inline int64_t mul_or_neg(int64_t a, int64_t b) {
  int64_t r;
  return a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) ? -1 : r;
}
inline int64_t round_up_or_same(int64_t a, int64_t unit) {
  if (a <= 0 || a > std::numeric_limits<int64_t>::max() - unit) return a;
  return (a + unit - 1) / unit * unit;
}

// Deterministic values from a one-byte seed: X and Y stay non-trivial for short inputs.
class Lcg {
 public:
  explicit Lcg(uint32_t seed) : s_(seed * 2654435761u + 1u) {}
  float next() {  // in [-4, 4), multiples of 1/256
    s_ = s_ * 1664525u + 1013904223u;
    return float(int((s_ >> 12) % 2048u) - 1024) / 256.0f;
  }

 private:
  uint32_t s_;
};

// M of X: up to 72, past the row counts where the kernels switch paths (the lut unpacked
// GEMM starts at 64 rows for 1-bit codes on AVX-512 VBMI targets).
inline constexpr int64_t kMaxRows = 72;
inline constexpr int64_t kMaxDim = 4096;    // the largest K or N given a real buffer
// M * N * K above which a product is skipped: the kernels are cheap even instrumented,
// the reference (one call per weight, every comparison traced) is not.
inline constexpr int64_t kMaxWork = 1 << 20;
inline constexpr int64_t kMaxReferenceWork = 1 << 15;

// X (M x cols): ordinary values from a seed, scaled by 2^e, then up to 15 edge values
// placed anywhere (or one value everywhere). Allocated to exactly the view's extent, so
// that ASan sees a read past X's last element. `k` is the weight's K: X gets K columns
// when that fits (or when M = 0: then the view is empty and any K is a legal shape).
struct Activations {
  std::vector<float> data;
  int64_t rows = 0, cols = 0, ld = 0;
  bool finite = true;
  // Finite and |x| <= 2^32: an X every mode must accept (int8 and table modes reject
  // values too large for their exact integer sums; where that limit lies is theirs).
  bool tame = true;

  lsgemm::HostView<const float> view() const { return {data.empty() ? nullptr : data.data(), rows, cols, ld}; }
  float operator()(int64_t r, int64_t c) const { return data[size_t(r * ld + c)]; }

  void read(FuzzInput& in, int64_t k) {
    rows = in.u8() % (kMaxRows + 1);
    const uint8_t shape = in.u8();
    if (!(shape & 1) && (rows == 0 || (k >= 0 && k <= kMaxDim)))
      cols = k;
    else
      cols = in.u8() % 64;  // a small K, right or wrong
    ld = cols < 0 || cols > kMaxDim ? cols : cols + (shape >> 1) % 4;  // no padding past a huge K
    const int exp = int(in.u8() % 41) - 20;
    Lcg lcg(in.u8());
    const uint8_t special = in.u8();
    const float everywhere = (special & 0x80) ? in.f32() : 0.0f;
    data.clear();
    if (rows == 0 || cols <= 0) return;
    data.resize(size_t((rows - 1) * ld + cols));
    const float scale = std::ldexp(1.0f, exp);  // exact: a power of two in range
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        data[size_t(r * ld + c)] = (special & 0x80) ? everywhere : lcg.next() * scale;
    for (int i = 0; i < (special & 15); ++i) {
      const size_t at = in.u16() % (size_t(rows) * size_t(cols));
      const float v = in.f32();
      data[(at / size_t(cols)) * size_t(ld) + at % size_t(cols)] = v;
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        finite = finite && std::isfinite((*this)(r, c));
        tame = tame && std::fabs((*this)(r, c)) <= 4294967296.0f;  // false for NaN
      }
  }
};

// Y (rows x cols) inside a frame of guard cells: one row above and below, one column
// left and two right, all holding a NaN with a payload no kernel computes. run() traps
// when the call it makes wrote outside the view, or (after a throw) wrote anything at all:
// lsgemm promises to check its input before it writes. rows = 0 gives an empty view
// with no storage and any cols (even huge or negative): shapes a checker must take.
class GuardedOutput {
 public:
  GuardedOutput(int64_t rows, int64_t cols, uint8_t seed) : rows_(rows), cols_(cols) {
    if (rows_ == 0) return;
    ld_ = cols_ + 3;
    init_.resize(size_t((rows_ + 2) * ld_));
    const uint32_t guard = 0x7FC5A5A5u;
    for (auto& v : init_) std::memcpy(&v, &guard, 4);
    Lcg lcg(seed);
    for (int64_t r = 0; r < rows_; ++r)
      for (int64_t c = 0; c < cols_; ++c) init_[at(r, c)] = lcg.next();
    buf_ = init_;
  }

  lsgemm::HostView<float> view() {
    if (rows_ == 0) return {&empty_, 0, cols_, cols_};
    return {buf_.data() + at(0, 0), rows_, cols_, ld_};
  }
  float initial(int64_t r, int64_t c) const { return init_[at(r, c)]; }
  float operator()(int64_t r, int64_t c) const { return buf_[at(r, c)]; }

  // Runs f (see call()) on a fresh copy of the initial contents, then checks the guards.
  template <class F>
  bool run(const char* what, F&& f) {
    buf_ = init_;
    const bool ok = call(what, f);
    if (rows_ == 0) return ok;
    for (int64_t r = -1; r <= rows_; ++r)
      for (int64_t c = -1; c <= cols_ + 1; ++c) {
        const bool inside = r >= 0 && r < rows_ && c >= 0 && c < cols_;
        if ((!inside || !ok) && std::memcmp(&buf_[at(r, c)], &init_[at(r, c)], 4) != 0) {
          std::fprintf(stderr, "lsgemm fuzz: %s %s Y(%lld,%lld) of a %lldx%lld view\n", what,
                       ok ? "wrote outside the view at" : "threw after writing", (long long)r, (long long)c,
                       (long long)rows_, (long long)cols_);
          fail("Y changed where it must not");
        }
      }
    return ok;
  }

 private:
  size_t at(int64_t r, int64_t c) const { return size_t((r + 1) * ld_ + c + 1); }
  int64_t rows_, cols_, ld_ = 0;
  std::vector<float> init_, buf_;
  float empty_ = 0.0f;
};

// The output shape for a weight of N rows: N when it can be allocated, any N when the
// view is empty, else a small wrong N (a shape check must catch it).
inline int64_t output_cols(FuzzInput& in, int64_t rows, int64_t n) {
  const uint8_t wrong = in.u8();
  if (rows == 0 || (n >= 0 && n <= kMaxDim)) return (wrong & 0xF0) == 0xF0 ? int64_t(wrong & 15) : n;
  return wrong & 15;
}

// Loose agreement of two float results: only where both are finite, with room for the
// float accumulation error of `terms` terms whose absolute values sum to `magnitude`.
inline bool close(float a, float b, double magnitude, int64_t terms) {
  if (!std::isfinite(a) || !std::isfinite(b) || !std::isfinite(magnitude)) return true;
  const double tol = 1e-3 * (1.0 + std::fabs(double(b))) +
                     (1e-3 + 4.0 * double(terms) * 6e-8) * magnitude;
  return std::fabs(double(a) - double(b)) <= tol;
}

inline void require_close(const char* what, float a, float b, double magnitude, int64_t terms) {
  if (close(a, b, magnitude, terms)) return;
  std::fprintf(stderr, "lsgemm fuzz: %s: %.9g vs the reference's %.9g (magnitude %.9g, %lld terms)\n", what,
               double(a), double(b), magnitude, (long long)terms);
  fail("a kernel and the reference disagree");
}

// The inputs of a matmul call besides the weight, read right after the weight in every
// target's layout: X, Y's shape and seed, the epilogue's flags, and the seed of the bias
// values. Not copyable: epi.bias points into bias.
class CallInputs {
 public:
  Activations x;
  int64_t ycols = 0;
  std::vector<float> bias;  // one value per column of Y (none for an empty X)
  lsgemm::Epilogue epi;

  // k, n: the weight's K and N, which X and Y get where they can be allocated.
  CallInputs(FuzzInput& in, int64_t k, int64_t n) {
    x.read(in, k);
    ycols = output_cols(in, x.rows, n);
    yseed_ = in.u8();
    const uint8_t epi_bits = in.u8();
    Lcg bias_values(in.u8());
    bias.resize(size_t(x.rows > 0 ? ycols : 0));
    for (auto& b : bias) b = bias_values.next();
    if ((epi_bits & 1) && !bias.empty()) epi.bias = bias.data();
    epi.accumulate = epi_bits & 2;
  }
  CallInputs(const CallInputs&) = delete;
  CallInputs& operator=(const CallInputs&) = delete;

  // Elements of X, and M * K * N: what bounds the time the kernels and the reference take.
  // With rows in X, X's and Y's columns are within 0 .. kMaxDim (Activations::read,
  // output_cols), and without, both are 0: no overflow.
  int64_t x_size() const { return x.rows * (x.cols > 0 ? x.cols : 0); }
  int64_t work() const { return x_size() * (ycols > 0 ? ycols : 0); }

  // Whether X and Y have the shapes a weight of N x K needs.
  bool fits(int64_t k, int64_t n) const { return x.cols == k && ycols == n; }

  // A fresh Y of the call's shape; every one made holds the same initial values.
  GuardedOutput output() const { return GuardedOutput(x.rows, ycols, yseed_); }

  // Runs a kernel's call f into y (GuardedOutput::run). A rejection is a finding where the
  // weight is valid, X tame and the shapes fit an N x K weight: the kernel must take those.
  template <class F>
  bool run_kernel(const char* what, GuardedOutput& y, bool valid, int64_t k, int64_t n, F&& f) const {
    const bool ok = y.run(what, f);
    if (valid && x.tame && fits(k, n) && !ok) fail("matmul rejected a weight that validate() accepted");
    return ok;
  }

  // y and yr must agree on rows x n outputs: `magnitude` (row-major, n per row) is the sum
  // of each output's |terms|, to which the bias and Y's initial value add where the
  // epilogue uses them; `terms` counts the roundings (see close()).
  void require_close_outputs(const char* what, const GuardedOutput& y, const GuardedOutput& yr,
                             const std::vector<double>& magnitude, int64_t rows, int64_t n, int64_t terms) const {
    for (int64_t m = 0; m < rows; ++m)
      for (int64_t j = 0; j < n; ++j) {
        const double extra = (epi.bias ? std::fabs(double(bias[size_t(j)])) : 0.0) +
                             (epi.accumulate ? std::fabs(double(y.initial(m, j))) : 0.0);
        require_close(what, y(m, j), yr(m, j), magnitude[size_t(m * n + j)] + extra, terms);
      }
  }

 private:
  uint8_t yseed_ = 0;
};

// The checks every packed-weight target runs once it has read its weight w: validate(),
// the two dequantize forms, lsgemm::matmul against reference::matmul into guarded
// outputs (they must agree on whether the input is valid), and, for a valid weight and
// finite X, outputs within terms(w) roundings of the reference's. `family` names the
// calls ("int_quant" -> "int_quant::validate", ...). `reference_validates`: the family's
// reference runs validate() where its matmul checks only the sizes (bitmap_sparse: the
// kernels take an unvalidated object safely, the reference's walk trusts its offsets),
// so the reference accepts exactly what matmul and validate() both accept; matmul's run
// on an object validate() rejects is then checked for bad accesses and writes outside Y
// only. Needs <lsgemm/lsgemm.hpp>, which
// make_seeds does not include (it runs no kernel): it defines LSGEMM_FUZZ_SEEDS_ONLY,
// which leaves this out.
#ifndef LSGEMM_FUZZ_SEEDS_ONLY
template <class Weight, class Validate, class Flat, class Terms>
int check_packed_weight(const char* family, FuzzInput& in, const Weight& w, Validate&& validate, Flat&& flat,
                        Terms&& terms, bool reference_validates = false) {
  const CallInputs c(in, w.k, w.n);
  const std::string name(family);
  const bool valid = call((name + "::validate").c_str(), [&] { validate(w); });
  // lsgemm::dequantize(w) fills its matrix through the family's dequantize(w, view).
  check_dequantize((name + "::dequantize_to_vector").c_str(), valid, [&] { return flat(w); },
                   [&] { return lsgemm::dequantize(w); });
  if (c.work() > kMaxWork) return 0;
  GuardedOutput y = c.output(), yr = c.output();
  const bool ok = c.run_kernel("lsgemm::matmul", y, valid, w.k, w.n,
                               [&] { lsgemm::matmul(c.x.view(), w, y.view(), c.epi); });
  if (c.work() > kMaxReferenceWork) return 0;
  const bool ref_ok = yr.run("reference::matmul", [&] { lsgemm::reference::matmul(c.x.view(), w, yr.view(), c.epi); });
  if (reference_validates ? ref_ok != (ok && valid) : ok != ref_ok)
    fail("lsgemm::matmul and reference::matmul disagree on whether the input is valid");
  if (!(ok && valid && c.x.finite) || c.x.rows == 0) return 0;
  c.require_close_outputs((name + " matmul").c_str(), y, yr, lsgemm::reference::matmul_magnitude(c.x.view(), w),
                          c.x.rows, w.n, terms(w));
  return 0;
}
#endif  // LSGEMM_FUZZ_SEEDS_ONLY

}  // namespace lsgemm_fuzz
