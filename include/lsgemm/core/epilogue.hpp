#pragma once
// What happens to an output tile after the product, shared by every family:
//   Y = alpha * X*W^T (+ bias)        or, with accumulate,
//   Y = alpha * X*W^T (+ bias) + Y
// alpha is a per-tensor scale (NVFP4's fp32 tensor scale, a dequantization factor that
// a caller folds in); bias is per output column.
#include <cstdint>

namespace lsgemm {

struct Epilogue {
  const float* bias = nullptr;  // N floats, or null
  bool accumulate = false;      // add into Y instead of overwriting it
  float alpha = 1.0f;           // scales the product (not bias, not Y)

  Epilogue& with_bias(const float* b) { bias = b; return *this; }
  Epilogue& with_accumulate(bool a = true) { accumulate = a; return *this; }
  Epilogue& with_alpha(float a) { alpha = a; return *this; }
};

// The definition, for output column n with product `acc` and previous value `y_old`,
// in double (the references' arithmetic; kernels apply the same terms in float).
inline double apply_epilogue(const Epilogue& e, double acc, int64_t n, float y_old) {
  double v = double(e.alpha) * acc;
  if (e.bias) v += double(e.bias[n]);
  if (e.accumulate) v += double(y_old);
  return v;
}

}  // namespace lsgemm
