#pragma once
// Kernel paths: which loop nest a call runs, and a record of the paths taken.
//
// Every family's matmul picks one path per call from its rule table (PathRule: a
// path, the rows of X it serves, the condition in words; see each family's
// path_rules() and lsgemm::dispatch_table()) and records it here before it runs.
// The record is what the testers use to prove that their shapes reached every path
// of every target: a shape list that misses a path fails by naming it, instead of a
// counter that counts its own loop.
//
// Cost: one relaxed load per call, and one atomic OR the first time a path is taken
// after a reset (the bit set is read-mostly, so concurrent calls do not contend).
#include <atomic>
#include <cstdint>

namespace lsgemm {

enum class Path : uint8_t {
  kIntQuantReference,  // no SIMD kernels on this target: the oracle runs
  kIntQuantGemvFloat,  // few rows, fp32 X: codes decoded in registers per row
  kIntQuantGemvInt8,   // few rows, int8 X: u8 x s8 quad dots per row
  kIntQuantGemmFloat,  // panel of f32 weights, f32 register tiles
  kIntQuantGemmInt8,   // panel of u8 quads, u8 x s8 register tiles
  kIntQuantOutliers,   // LLM.int8() outlier columns added in float (with an int8 path)
  kLutReference,
  kLutGemvFast,     // few rows: table lookups, one strip pair per task, int8 tables
  kLutGemvExact,    // the same with exact (int16) tables
  kLutGemmFast,     // table lookups, row tiles of kMR, K chunks of L2-resident tables
  kLutGemmExact,    // the same with exact tables, row tiles of kMRExact
  kLutUnpacked,     // exact mode, bit planes, many rows: codes unpacked to u8 quads
  kBlockFpReference,
  kBlockFpGemvFloat,  // few rows, fp32 X: element codes decoded to f32 in registers per row
  kBlockFpGemmFloat,  // panel of f32 weights (S * v), f32 register tiles
  kBlockFpGemvInt8,   // W+A, few rows: u8 element quads x s8 X quads in registers per row
  kBlockFpGemmInt8,   // W+A: X as MXINT8, u8 element quads x s8 register tiles, exact per block
  kNmSparseReference,
  kNmSparseGather,  // x gathered per slot by the stored positions in registers, tiles of 1..kMRGather rows
  kNmSparseQuadDot,  // int8 activations: x bytes gathered per quad of slots (vpermb), u8 x s8 quad dots
  kBitmapSparseReference,
  kBitmapSparseExpand,  // few rows: a tile's values expanded into lanes by its mask, dense FMAs
  kBitmapSparseOuter,   // many rows: per stored weight, a broadcast and FMAs over 4 L tokens of X^T
  kBitmapSparseDensePanel,  // many rows, low sparsity: tiles expanded into dense f32 panels, dense tiles
  kCount
};

inline const char* path_name(Path p) {
  switch (p) {
    case Path::kIntQuantReference: return "int_quant/reference";
    case Path::kIntQuantGemvFloat: return "int_quant/gemv-float";
    case Path::kIntQuantGemvInt8: return "int_quant/gemv-int8";
    case Path::kIntQuantGemmFloat: return "int_quant/gemm-float";
    case Path::kIntQuantGemmInt8: return "int_quant/gemm-int8";
    case Path::kIntQuantOutliers: return "int_quant/outliers";
    case Path::kLutReference: return "lut/reference";
    case Path::kLutGemvFast: return "lut/gemv-fast";
    case Path::kLutGemvExact: return "lut/gemv-exact";
    case Path::kLutGemmFast: return "lut/gemm-fast";
    case Path::kLutGemmExact: return "lut/gemm-exact";
    case Path::kLutUnpacked: return "lut/unpacked-u8";
    case Path::kBlockFpReference: return "block_fp/reference";
    case Path::kBlockFpGemvFloat: return "block_fp/gemv-float";
    case Path::kBlockFpGemmFloat: return "block_fp/gemm-float";
    case Path::kBlockFpGemvInt8: return "block_fp/gemv-int8";
    case Path::kBlockFpGemmInt8: return "block_fp/gemm-int8";
    case Path::kNmSparseReference: return "nm_sparse/reference";
    case Path::kNmSparseGather: return "nm_sparse/gather";
    case Path::kNmSparseQuadDot: return "nm_sparse/quad_dot";
    case Path::kBitmapSparseReference: return "bitmap_sparse/reference";
    case Path::kBitmapSparseExpand: return "bitmap_sparse/expand";
    case Path::kBitmapSparseOuter: return "bitmap_sparse/outer";
    case Path::kBitmapSparseDensePanel: return "bitmap_sparse/dense-panel";
    case Path::kCount: break;
  }
  return "?";
}

// One row of a dispatch table: `path` serves rows of X in [min_rows, max_rows) when
// `when` holds (max_rows = kAnyRows: no upper limit).
struct PathRule {
  Path path;
  int64_t min_rows;
  int64_t max_rows;
  const char* when;
};
inline constexpr int64_t kAnyRows = INT64_MAX;

namespace detail {
inline std::atomic<uint64_t> g_paths_taken{0};  // C++17 inline variable: one per program

inline void note_path(Path p) {
  const uint64_t bit = uint64_t{1} << unsigned(p);
  if (!(g_paths_taken.load(std::memory_order_relaxed) & bit)) g_paths_taken.fetch_or(bit, std::memory_order_relaxed);
}
}  // namespace detail

// Paths taken by any thread since the last reset_paths_taken() (testing and
// benchmarks: which kernel ran).
inline bool path_taken(Path p) {
  return (detail::g_paths_taken.load(std::memory_order_relaxed) >> unsigned(p)) & 1u;
}
inline void reset_paths_taken() { detail::g_paths_taken.store(0, std::memory_order_relaxed); }

}  // namespace lsgemm
