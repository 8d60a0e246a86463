/*
 * Winograd pieces shared by native/conv.c (the forward convolution) and native/convGrad.c (its filter
 * gradient): header-only, macros that expand in place (each C file is its own wasm module, and the
 * transforms must stay straight-line code on named SIMD values, no calls, no stack arrays).
 *
 * F(4x4, 3x3): 6x6 input tiles, 4x4 outputs.
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *
 * The input tile addressing (WINO_RC, WINO_LOAD4, WINO_LD_IN / WINO_LD_EDGE) reads the names of the
 * calling loop: x [nb][h][w][c] (NHWC), b (the image), iy / ix (the tile's top-left input row and
 * column, may be outside the image), ch (the channel chunk, a multiple of 4), c and cfull (c rounded
 * down to 4).
 */
#ifndef LAYERFORGE_WINOGRAD_H
#define LAYERFORGE_WINOGRAD_H

#include "simd.h"

#define MUL(a, s) wasm_f32x4_mul(a, wasm_f32x4_splat(s))
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub

/* B^T on 6 values (F(4x4, 3x3)); the o0##_* are temporaries. */
#define BT6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)  \
  const v128_t o0 = ADD(SUB(MUL(d0, 4.0f), MUL(d2, 5.0f)), d4); \
  const v128_t o0##_p = SUB(d4, MUL(d2, 4.0f));                  \
  const v128_t o0##_q = SUB(MUL(d1, 4.0f), d3);                  \
  const v128_t o1 = SUB(o0##_p, o0##_q);                          \
  const v128_t o2 = ADD(o0##_p, o0##_q);                          \
  const v128_t o0##_r = SUB(d4, d2);                             \
  const v128_t o0##_s = MUL(SUB(d1, d3), 2.0f);                  \
  const v128_t o3 = SUB(o0##_r, o0##_s);                          \
  const v128_t o4 = ADD(o0##_r, o0##_s);                          \
  const v128_t o5 = ADD(SUB(MUL(d1, 4.0f), MUL(d3, 5.0f)), d5);

/*
 * Row / column q of the input tile: row##q (the start of input row iy + q of image b) and col##q (the
 * offset of column ix + q), both clamped into the image, with rm##q / cm##q all-ones lanes where that
 * row / column lies inside the image and zeros outside (to mask what the clamped address read).
 */
#define WINO_RC(q)                                                                                     \
  const int32_t yy##q = iy + q, xx##q = ix + q;                                                        \
  const v128_t rm##q = wasm_i32x4_splat(yy##q >= 0 && yy##q < h ? -1 : 0);                             \
  const v128_t cm##q = wasm_i32x4_splat(xx##q >= 0 && xx##q < w ? -1 : 0);                             \
  const f32 *row##q = x + (((int64_t)b * h + (yy##q < 0 ? 0 : yy##q >= h ? h - 1 : yy##q)) * w) * c;   \
  const int64_t col##q = (int64_t)(xx##q < 0 ? 0 : xx##q >= w ? w - 1 : xx##q) * c;

/* 4 channels from p; the last chunk of a channel count that is not a multiple of 4: lane by lane, zeros past c. */
#define WINO_LOAD4(p) (ch < cfull ? wasm_v128_load(p) : wasm_f32x4_make((p)[0], ch + 1 < c ? (p)[1] : 0.0f, ch + 2 < c ? (p)[2] : 0.0f, 0.0f))
/* The 4 channels at tile row r, column s: for a tile inside the image, and for an edge tile (masked). */
#define WINO_LD_IN(r, s) WINO_LOAD4(row##r + col##s + ch)
#define WINO_LD_EDGE(r, s) wasm_v128_and(wasm_v128_and(rm##r, cm##s), WINO_LOAD4(row##r + col##s + ch))

/* Output tile t of the nb x th x tw tiles (per_image = th·tw, tw tiles a row): its image b, row ty, column tx. */
#define WINO_TILE(t)                                            \
  const int32_t b = (t) / per_image, r = (t) - b * per_image;   \
  const int32_t ty = r / tw, tx = r - ty * tw;

/*
 * F(4x4, 3x3)'s input tile for output tile t (WINO_TILE's names, then WINO_RC's for its 6 rows and
 * columns): the 6x6 patch at iy = 4·ty - pad_top, ix = 4·tx - pad_left; inside: all of it within the image.
 */
#define WINO4_INPUT_TILE(t)                                                     \
  WINO_TILE(t)                                                                  \
  const int32_t iy = 4 * ty - pad_top, ix = 4 * tx - pad_left;                  \
  WINO_RC(0) WINO_RC(1) WINO_RC(2) WINO_RC(3) WINO_RC(4) WINO_RC(5)             \
  const int32_t inside = iy >= 0 && iy + 5 < h && ix >= 0 && ix + 5 < w;

#endif
