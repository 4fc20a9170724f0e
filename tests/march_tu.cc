// The build flags must not decide the SIMD target: compiled once per -march level that
// distributions use (tests/CMakeLists.txt, x86-64 only), it fails the build when the
// static Highway target is not the one that level's instruction set allows. Before
// core/hwy_config.hpp, -march=haswell and x86-64-v3 (no AES) gave SSSE3 and
// x86-64-v4 gave SSSE3 too: every kernel at 128 bits, 2-3x slower.
// LSGEMM_MARCH_PLAIN: built without the lsgemm::lsgemm CMake target's definitions, as a
// non-CMake user would (the header alone must do it).
#include "lsgemm/lsgemm.hpp"

#if defined(LSGEMM_MARCH_PLAIN) && !defined(HWY_DISABLE_PCLMUL_AES)
#error "core/hwy_config.hpp did not define HWY_DISABLE_PCLMUL_AES before Highway"
#endif
static_assert(HWY_STATIC_TARGET == LSGEMM_MARCH_TARGET,
              "this -march level does not give lsgemm the Highway target its ISA allows");

const char* LSGEMM_MARCH_FN() { return lsgemm::simd_target_name(); }
