#pragma once
// Which Highway targets have lsgemm SIMD kernels. Evaluated per target (the macro reads
// HWY_TARGET where it is used, inside the per-target code of a re-included header).
//
// Every vector target has them, the scalable ones included (SVE, SVE2, SVE_256,
// SVE2_128, RVV): the kernels keep no arrays of vectors (sizeless types cannot form
// them; accumulators are named variables) and take the vector length from Lanes() at
// run time. HWY_SCALAR (one lane: nothing to tile) runs the reference;
// lsgemm::dispatch_table() and simd_target_name() report it.
#include "lsgemm/core/hwy_config.hpp"  // before Highway
#include <hwy/detect_targets.h>

#define LSGEMM_SIMD_KERNELS (HWY_TARGET != HWY_SCALAR)

// Why a target has no kernels (a string literal; meaningful where !LSGEMM_SIMD_KERNELS).
#define LSGEMM_NO_KERNELS_REASON "no SIMD kernels for the scalar target: reference"
