#pragma once
// Highway settings of lsgemm, before Highway's first header.
//
// Highway 1.2 requires AES and PCLMUL (its AESRound / CLMul ops) for its SSE4 and AVX2
// targets, but `-march=haswell`, `x86-64-v3` and `x86-64-v4` do not enable AES, so a
// translation unit built with them got the SSSE3 target as its static one: every lsgemm
// kernel at 128 bits on an AVX2 / AVX-512 machine (measured 2.7x slower LUT GEMV than a
// `-march=native` build of the same AVX2 target). lsgemm uses neither op, so it tells
// Highway not to gate the targets on them (the ops are then left out).
//
// The CMake target lsgemm::lsgemm defines HWY_DISABLE_PCLMUL_AES on the command line, so
// every TU of a CMake build agrees, Highway headers included before lsgemm's too. Without
// CMake, this header defines it when no Highway header came first; include lsgemm before
// Highway (or define HWY_DISABLE_PCLMUL_AES yourself) for the same effect.
#if !defined(HWY_DISABLE_PCLMUL_AES) && !defined(HIGHWAY_HWY_DETECT_TARGETS_H_)
#define HWY_DISABLE_PCLMUL_AES
#endif
