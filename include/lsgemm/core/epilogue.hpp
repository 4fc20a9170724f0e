#pragma once
// What happens to an output tile after the product: Y = X*W^T (+ bias) or, with
// accumulate, Y += X*W^T (+ bias). Shared by every family.
namespace lsgemm {

struct Epilogue {
  const float* bias = nullptr;  // N floats, or null
  bool accumulate = false;      // add into Y instead of overwriting it

  Epilogue& with_bias(const float* b) { bias = b; return *this; }
  Epilogue& with_accumulate(bool a = true) { accumulate = a; return *this; }
};

}  // namespace lsgemm
