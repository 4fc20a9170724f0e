#pragma once
// The row-tile layout every host format shares (int_quant, lut; the next families too).
//
//   rows of W (outputs) in tiles of kTileRows = 16; N is padded to whole tiles
//   codes:     tile t at codes + t * tile_bytes; within a tile, each 64-byte block holds
//              one 32-bit word per row: row r of the tile at bytes [4r, 4r + 4)
//   constants: per-row values of scale group g (scales, zero points, offsets) at
//              (t * G + g) * 16 + r            (tile_const_index)
//
// A kernel reads a tile as *strips* of L rows (L = f32 lanes: 16 on AVX-512, 8 on AVX2,
// 4 on 128-bit targets): strip s is rows [s L, s L + L), the dwords [4v, 4v + 4L) of
// every block of tile s L / 16 (v = s L mod 16), and L consecutive constants per group.
// Tasks own strip *pairs* (2L outputs). The family's Strip struct adds what its blocks
// hold (sign bits, ...); the positions come from here.
#include <cstddef>
#include <cstdint>

namespace lsgemm {

inline constexpr int kTileRows = 16;  // rows per tile: one 512-bit vector of int32 lanes

// Tiles for n rows (no n + 15 overflow).
inline constexpr int64_t row_tiles(int64_t n) { return n / kTileRows + (n % kTileRows != 0); }

// Index of the constant of row r, scale group g, with G groups per row.
inline constexpr size_t tile_const_index(int64_t r, int64_t g, int64_t G) {
  return size_t(((r / kTileRows) * G + g) * kTileRows + r % kTileRows);
}

// Where strip s of L rows starts: its tile and its first row within the tile.
struct StripPos {
  int64_t tile;
  int64_t row;  // v: a multiple of L (and of 4)
};

inline constexpr StripPos strip_pos(int64_t s, int64_t L) { return {s * L / kTileRows, s * L % kTileRows}; }

// Strips and strip pairs of a matrix with `tiles` tiles. An odd strip count leaves the
// last pair one strip short: kernels read the last strip twice and drop those outputs.
inline constexpr int64_t strip_count(int64_t tiles, int64_t L) { return tiles * kTileRows / L; }
inline constexpr int64_t strip_pairs(int64_t tiles, int64_t L) { return (strip_count(tiles, L) + 1) / 2; }

// First code byte of a strip (add blk * 64 for block blk) and its first constant of
// group 0 (add g * kTileRows for group g).
inline const uint8_t* strip_codes(const uint8_t* codes, StripPos p, int64_t tile_bytes) {
  return codes + p.tile * tile_bytes + 4 * p.row;
}
template <class T>
const T* strip_consts(const T* consts, StripPos p, int64_t G) {
  return consts + p.tile * G * kTileRows + p.row;
}

// GEMV prefetch. A task walks its strip pair tile by tile, and its next pair starts
// 2L/16 tiles further on, so a stream read past the end of this strip's tile continues
// in the next pair's tile: pair_skip_tiles(L) tiles further (those of this pair's other
// strip on 16-lane targets), not in a tile no task is about to read.
inline constexpr int64_t pair_skip_tiles(int64_t L) { return 2 * L / kTileRows > 1 ? 2 * L / kTileRows - 1 : 0; }

// The byte offset, from a strip's first code byte, of the position `ahead` bytes past
// `pos` in its task's code stream (above).
inline constexpr int64_t pair_stream_ahead(int64_t pos, int64_t ahead, int64_t tile_bytes, int64_t L) {
  return pos + ahead + (pos + ahead >= tile_bytes ? pair_skip_tiles(L) * tile_bytes : 0);
}

}  // namespace lsgemm
