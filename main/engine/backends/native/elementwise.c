/*
 * Element-wise and data-movement kernels of training steps (backends/elementwise.ts,
 * backends/kernels.ts). Same rules as kernels.c: stack-free leaf functions on heap offsets, no data,
 * no calls (build.mjs checks). Export names are prefixed ew_.
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef float f32;

/*
 * out[r, :] = x[r, :] + b for rows [r_begin, r_end) of x [rows, c] (a convolution's or dense layer's
 * bias, broadcast over the last axis). tfjs's wasm Add walks a broadcast with per-element index
 * arithmetic; this is one SIMD pass. Two threads split the rows.
 */
__attribute__((export_name("ew_bias_add")))
void ew_bias_add(const f32 *x, const f32 *b, f32 *out, int32_t c, int32_t r_begin, int32_t r_end) {
  const int32_t c4 = c & ~3;
  for (int32_t r = r_begin; r < r_end; r++) {
    const f32 *xr = x + (int64_t)r * c;
    f32 *o = out + (int64_t)r * c;
    for (int32_t j = 0; j < c4; j += 4) wasm_v128_store(o + j, wasm_f32x4_add(wasm_v128_load(xr + j), wasm_v128_load(b + j)));
    for (int32_t j = c4; j < c; j++) o[j] = xr[j] + b[j];
  }
}

/*
 * One phase of a strided tensor, images [b_begin, b_end): dst[b, y0 + sh*m, x0 + sw*k, :] = src[b, m, k, :]
 * for m < hs, k < ws (src [nb, hs, ws, c], dst [nb, h, w, c]); with src == 0, zeros instead. The input
 * gradient of a strided convolution is computed phase by phase (each phase a stride-1 convolution of
 * dy with the taps of the filter that reach it) and interleaved into dx here.
 */
__attribute__((export_name("ew_phase_scatter")))
void ew_phase_scatter(const f32 *src, f32 *dst, int32_t hs, int32_t ws, int32_t c, int32_t h, int32_t w,
                      int32_t y0, int32_t x0, int32_t sh, int32_t sw, int32_t b_begin, int32_t b_end) {
  const int32_t c4 = c & ~3;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int32_t b = b_begin; b < b_end; b++)
    for (int32_t m = 0; m < hs; m++) {
      f32 *row = dst + (((int64_t)b * h + y0 + (int64_t)sh * m) * w + x0) * c;
      const f32 *s = src ? src + (((int64_t)b * hs + m) * ws) * c : 0;
      for (int32_t k = 0; k < ws; k++) {
        f32 *o = row + (int64_t)sw * k * c;
        if (s) {
          const f32 *p = s + (int64_t)k * c;
          for (int32_t j = 0; j < c4; j += 4) wasm_v128_store(o + j, wasm_v128_load(p + j));
          for (int32_t j = c4; j < c; j++) o[j] = p[j];
        } else {
          for (int32_t j = 0; j < c4; j += 4) wasm_v128_store(o + j, zero);
          for (int32_t j = c4; j < c; j++) o[j] = 0.0f;
        }
      }
    }
}
