#pragma once
// Which Highway targets have lsgemm SIMD kernels. Evaluated per target (the macro reads
// HWY_TARGET where it is used, inside the per-target code of a re-included header).
//
// The register tiles and strip kernels keep arrays of vectors, which sizeless vector
// types cannot form: every SVE flavour (SVE, SVE2 and the fixed-size SVE_256 and
// SVE2_128, which define HWY_HAVE_SCALABLE 0 but still use sizeless svfloat32_t) and
// RVV run the reference until they have kernels of their own, as does HWY_SCALAR (one
// lane: nothing to tile). lsgemm::dispatch_table() and simd_target_name() report it.
#include <hwy/detect_targets.h>

#define LSGEMM_SIMD_KERNELS \
  (!HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR && (HWY_TARGET & HWY_ALL_SVE) == 0)

// Why a target has no kernels (a string literal; meaningful where !LSGEMM_SIMD_KERNELS).
#define LSGEMM_NO_KERNELS_REASON                                                    \
  (HWY_TARGET == HWY_SCALAR ? "no SIMD kernels for the scalar target: reference" \
                            : "no kernels for scalable vectors (SVE, RVV) yet: reference")
