/*
 * Pooling gradients (NHWC, float32). Same rules as kernels.c: stack-free leaf functions on heap
 * offsets, no data, no calls (build.mjs checks). Export names: pool_*.
 */
#include "simd.h"

/*
 * dx of average pooling, as tfjs's AvgPoolGrad (cpu backend) computes it: every input pixel gathers the
 * dy of each output window that covers it, in ascending window order, and the sum is scaled by
 * 1/(fh·fw) — the full window size, also for windows that overlap the padding (tfjs's backward does not
 * exclude padding from the count). Output window (oy, ox) covers input rows oy·sh − top … oy·sh − top +
 * fh − 1 and columns ox·sw − left … ox·sw − left + fw − 1, so input row r gathers oy in
 * [ceil((r + top − fh + 1)/sh), floor((r + top)/sh)] ∩ [0, oh) (columns alike). Gathering writes each
 * dx element exactly once (no clearing, no accumulation in memory). Vectorised over 4 channels; images
 * [b_begin, b_end) only (two threads split the batch).
 */
__attribute__((export_name("pool_avg_grad")))
void pool_avg_grad(const f32 *dy, f32 *dx, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh, int32_t ow,
                   int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t top, int32_t left,
                   int32_t b_begin, int32_t b_end) {
  if (b_end > nb) b_end = nb;
  if (b_begin < 0) b_begin = 0;
  if (b_begin >= b_end || c <= 0) return;
  const v128_t mult = wasm_f32x4_splat(1.0f / (f32)(fh * fw));
  const int64_t dy_row = (int64_t)ow * c;
  for (int32_t b = b_begin; b < b_end; b++) {
    const f32 *dyi = dy + (int64_t)b * oh * ow * c;
    f32 *dxi = dx + (int64_t)b * h * w * c;
    for (int32_t r = 0; r < h; r++) {
      const int32_t lo_r = r + top - fh + 1;
      const int32_t y0 = lo_r <= 0 ? 0 : (lo_r + sh - 1) / sh;
      int32_t y1 = r + top < 0 ? -1 : (r + top) / sh;
      if (y1 > oh - 1) y1 = oh - 1;
      for (int32_t col = 0; col < w; col++) {
        const int32_t lo_c = col + left - fw + 1;
        const int32_t x0 = lo_c <= 0 ? 0 : (lo_c + sw - 1) / sw;
        int32_t x1 = col + left < 0 ? -1 : (col + left) / sw;
        if (x1 > ow - 1) x1 = ow - 1;
        f32 *out = dxi + ((int64_t)r * w + col) * c;
        for (int32_t ch = 0; ch < c; ch += 4) {
          const int32_t left_ch = c - ch;
          v128_t acc = wasm_f32x4_splat(0.0f);
          for (int32_t y = y0; y <= y1; y++) {
            const f32 *src = dyi + y * dy_row + ch;
            for (int32_t x = x0; x <= x1; x++) acc = wasm_f32x4_add(acc, load_part(src + (int64_t)x * c, left_ch));
          }
          store_part(out + ch, left_ch, wasm_f32x4_mul(acc, mult));
        }
      }
    }
  }
}
