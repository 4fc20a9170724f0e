#pragma once
// The device layout of 4- and 8-bit weight codes in 64-k chunks, shared by the families
// whose decoders read their A fragments from it (int_quant, block_fp), and its host-side
// repack. One lane's 16-byte load holds exactly the codes of its mma.m16n8k16 A
// fragments (core/cuda/mma.cuh) for a whole chunk, so a stage needs no shuffle:
//
//   word [(((t * kc + c) * V + v) * 32 + lane) * 4 + i]          (u32 words)
//     t = 16-row tile, c = 64-k chunk (kc = ceil(kp / 64)), V = bits / 4, lane in [0, 32)
//     flat word f = 4v + i = s * V + u      (s = k16 step in the chunk, u < V)
//   element (j, h) = half h of A register j of lane (g = lane / 4, tq = lane % 4), step s:
//     row = 16t + g + 8 (j % 2),   col = 64c + 16s + 2 tq + h + 8 (j / 2)
//     4-bit: bits [4j + 16h, +4) of word f = s          ("interleaved": j in the low
//            nibbles, h in the high half, so (w >> 4j) & 0x000F000F is register j)
//     8-bit: byte 2 (j % 2) + h of word f = 2s + j / 2  (natural order; prmt picks pairs)
//   rows >= `rows` and cols >= kp hold code 0.
//
// The block of (t, c) is V * 128 words = kCodeVecs (V * 32) 16-byte vectors, at block
// t * kc + c: the order the CTA skeleton copies (core/cuda/cta.cuh). How a code becomes a
// value is the family's business; only the positions are fixed here.
#include <cstdint>
#include <vector>

#include "lsgemm/core/error.hpp"

namespace lsgemm {
namespace detail {

// The codes in the layout above: np / 16 * kc * (bits / 4) * 128 words, np a multiple of
// 16 (the family's N padding), kc chunks of 64 k. code(row, col) gives the code (its low
// `bits` bits) of row < rows, col < kp. Host-only, so it can be checked without a GPU.
template <class CodeFn>
std::vector<uint32_t> cta_repack_codes(int64_t rows, int64_t kp, int bits, int64_t np, int64_t kc, CodeFn&& code) {
  require(bits == 4 || bits == 8, "cta_repack_codes: bits=", bits, " (4 or 8)");
  const int V = bits / 4;  // u32 words per lane per k16 step (8 codes x bits / 32)
  const uint32_t mask = (1u << bits) - 1u;
  const int64_t tiles = np / 16;
  std::vector<uint32_t> words(size_t(tiles * kc * V * 128), 0u);
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t c = 0; c < kc; ++c)
      for (int s = 0; s < 4; ++s)
        for (int lane = 0; lane < 32; ++lane)
          for (int j = 0; j < 4; ++j)
            for (int h = 0; h < 2; ++h) {
              const int64_t row = 16 * t + lane / 4 + 8 * (j % 2);
              const int64_t col = 64 * c + 16 * s + 2 * (lane % 4) + h + 8 * (j / 2);
              const uint32_t q = (row < rows && col < kp) ? uint32_t(code(row, col)) & mask : 0u;
              const int f = s * V + (bits == 4 ? 0 : j / 2);
              const int shift = bits == 4 ? 4 * j + 16 * h : 8 * (2 * (j % 2) + h);
              const int64_t idx = (((t * kc + c) * V + f / 4) * 32 + lane) * 4 + f % 4;
              words[size_t(idx)] |= q << shift;
            }
  return words;
}

}  // namespace detail
}  // namespace lsgemm
