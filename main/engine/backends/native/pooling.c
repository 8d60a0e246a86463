/*
 * Average pooling, forward and gradient (NHWC, float32). Same rules as kernels.c: stack-free leaf
 * functions on heap offsets, no data, no calls (build.mjs checks). Export names: pool_*.
 *
 * Both are vectorised over channels: with c >= 4, chunks of 4 at 0, 4, … and a last chunk at c − 4
 * that overlaps the one before when c % 4 ≠ 0 (it recomputes those channels from the same values in
 * the same order and stores the same results: no partial loads); with c < 4, one partial chunk.
 * Column window ranges are stepped incrementally (no division per pixel). Images [b_begin, b_end)
 * only (two threads split the batch).
 */
#include "simd.h"

/* Channel chunk starts: 0, 4, …, then c − 4 when c % 4 ≠ 0 (c >= 4); c < 4: one partial chunk at 0. */
#define FOR_CHUNKS(ch, c) for (int32_t ch = 0, next_ = 0; next_ >= 0 && ch < (c); ch = next_)
#define NEXT_CHUNK(ch, c) next_ = ((c) < 4 || ch + 4 >= (c)) ? -1 : (ch + 8 <= (c) ? ch + 4 : (c) - 4)

/*
 * y of average pooling as tfjs's AvgPool (cpu backend) computes it: each output is the mean of the
 * window's pixels inside the input, padding excluded from the count. Window (oy, ox) covers input rows
 * oy·sh − top … + fh − 1 and columns ox·sw − left … + fw − 1, clipped to the input.
 */
__attribute__((export_name("pool_avg")))
void pool_avg(const f32 *x, f32 *y, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh, int32_t ow,
              int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t top, int32_t left,
              int32_t b_begin, int32_t b_end) {
  if (b_end > nb) b_end = nb;
  if (b_begin < 0) b_begin = 0;
  if (b_begin >= b_end || c <= 0) return;
  const int64_t xrow = (int64_t)w * c;
  const int32_t part = c < 4 ? c : 4;
  for (int32_t b = b_begin; b < b_end; b++) {
    const f32 *xi = x + (int64_t)b * h * xrow;
    f32 *yi = y + (int64_t)b * oh * ow * c;
    for (int32_t oy = 0; oy < oh; oy++) {
      int32_t r0 = oy * sh - top, r1 = r0 + fh;
      if (r0 < 0) r0 = 0;
      if (r1 > h) r1 = h;
      const int32_t rows = r1 - r0;
      for (int32_t ox = 0, c0s = -left; ox < ow; ox++, c0s += sw) {
        const int32_t c0 = c0s < 0 ? 0 : c0s;
        const int32_t c1 = c0s + fw > w ? w : c0s + fw;
        f32 *out = yi + ((int64_t)oy * ow + ox) * c;
        const int32_t count = rows * (c1 - c0);
        if (count <= 0) {
          /* tfjs's cpu kernel divides 0 by 0 here (NaN); such windows only arise from odd explicit pads. */
          const v128_t nan = wasm_f32x4_splat(__builtin_nanf(""));
          FOR_CHUNKS(ch, c) {
            store_part(out + ch, part, nan);
            NEXT_CHUNK(ch, c);
          }
          continue;
        }
        const v128_t mult = wasm_f32x4_splat(1.0f / (f32)count);
        const f32 *base = xi + (int64_t)r0 * xrow + (int64_t)c0 * c;
        const int32_t cols = c1 - c0;
        if (rows == 2 && cols == 2) {
          const f32 *p0 = base, *p1 = base + xrow;
          FOR_CHUNKS(ch, c) {
            const v128_t s = wasm_f32x4_add(wasm_f32x4_add(load_part(p0 + ch, part), load_part(p0 + c + ch, part)),
                                            wasm_f32x4_add(load_part(p1 + ch, part), load_part(p1 + c + ch, part)));
            store_part(out + ch, part, wasm_f32x4_mul(s, mult));
            NEXT_CHUNK(ch, c);
          }
          continue;
        }
        FOR_CHUNKS(ch, c) {
          v128_t acc = wasm_f32x4_splat(0.0f);
          for (int32_t r = 0; r < rows; r++) {
            const f32 *src = base + r * xrow + ch;
            for (int32_t k = 0; k < cols; k++) acc = wasm_f32x4_add(acc, load_part(src + (int64_t)k * c, part));
          }
          store_part(out + ch, part, wasm_f32x4_mul(acc, mult));
          NEXT_CHUNK(ch, c);
        }
      }
    }
  }
}

/*
 * dx of average pooling, as tfjs's AvgPoolGrad (cpu backend) computes it: every input pixel gathers the
 * dy of each output window that covers it, in ascending window order, and the sum is scaled by
 * 1/(fh·fw) — the full window size, also for windows that overlap the padding (tfjs's backward does not
 * exclude padding from the count). Output window (oy, ox) covers input rows oy·sh − top … oy·sh − top +
 * fh − 1 and columns ox·sw − left … ox·sw − left + fw − 1, so input row r gathers oy in
 * [ceil((r + top − fh + 1)/sh), floor((r + top)/sh)] ∩ [0, oh) (columns alike, stepped incrementally).
 * Gathering writes each dx element exactly once (no clearing, no accumulation in memory).
 */
__attribute__((export_name("pool_avg_grad")))
void pool_avg_grad(const f32 *dy, f32 *dx, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh, int32_t ow,
                   int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t top, int32_t left,
                   int32_t b_begin, int32_t b_end) {
  if (b_end > nb) b_end = nb;
  if (b_begin < 0) b_begin = 0;
  if (b_begin >= b_end || c <= 0) return;
  const v128_t mult = wasm_f32x4_splat(1.0f / (f32)(fh * fw));
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const int64_t dy_row = (int64_t)ow * c;
  const int32_t part = c < 4 ? c : 4;
  /* Column col = 0's window range: x1 = floor((left)/sw) (left >= 0 always), x0 = ceil((left − fw + 1)/sw) ∩ [0, …). */
  const int32_t lo_c0 = left - fw + 1;
  if (fh == sh && fw == sw && top == 0 && left == 0 && c >= 4 && oh * fh <= h && ow * fw <= w) {
    /* Windows that tile the input (e.g. 2x2 / 2, no padding, every window inside): each dx pixel is one
       window's dy/(fh·fw); one pass over dy writes its fh·fw pixels; rows and columns past the last
       window (valid padding's leftovers) are zero. */
    const int32_t hc = oh * fh, wc = ow * fw;
    for (int32_t b = b_begin; b < b_end; b++) {
      const f32 *dyi = dy + (int64_t)b * oh * dy_row;
      f32 *dxi = dx + (int64_t)b * h * w * c;
      for (int32_t oy = 0; oy < oh; oy++) {
        const f32 *src = dyi + (int64_t)oy * dy_row;
        f32 *out = dxi + (int64_t)oy * fh * w * c;
        for (int32_t ox = 0; ox < ow; ox++, src += c, out += (int64_t)fw * c) {
          FOR_CHUNKS(ch, c) {
            const v128_t v = wasm_f32x4_mul(wasm_v128_load(src + ch), mult);
            for (int32_t i = 0; i < fh; i++)
              for (int32_t j = 0; j < fw; j++) wasm_v128_store(out + ((int64_t)i * w + j) * c + ch, v);
            NEXT_CHUNK(ch, c);
          }
        }
        for (int32_t i = 0; i < fh && wc < w; i++) /* columns past the last window */
          for (f32 *p = dxi + (((int64_t)oy * fh + i) * w + wc) * c, *e = dxi + (((int64_t)oy * fh + i) * w + w) * c; p < e; p++) *p = 0.0f;
      }
      for (f32 *p = dxi + (int64_t)hc * w * c, *e = dxi + (int64_t)h * w * c; p < e; p++) *p = 0.0f; /* rows past the last window */
    }
    return;
  }
  for (int32_t b = b_begin; b < b_end; b++) {
    const f32 *dyi = dy + (int64_t)b * oh * dy_row;
    f32 *dxi = dx + (int64_t)b * h * w * c;
    for (int32_t r = 0; r < h; r++) {
      const int32_t lo_r = r + top - fh + 1;
      const int32_t y0 = lo_r <= 0 ? 0 : (lo_r + sh - 1) / sh;
      int32_t y1 = r + top < 0 ? -1 : (r + top) / sh;
      if (y1 > oh - 1) y1 = oh - 1;
      f32 *out = dxi + (int64_t)r * w * c;
      /* x1 = floor((col + left)/sw) as quotient q1 and remainder m1; x0 = ceil(max(lo, 0)/sw) with
         lo = col + lo_c0, kept as q0 = x0 and m0 = q0·sw − max(lo, 0) in [0, sw). */
      int32_t q1 = left / sw, m1 = left % sw;
      int32_t q0 = 0, m0 = 0;
      if (lo_c0 > 0) {
        q0 = (lo_c0 + sw - 1) / sw;
        m0 = q0 * sw - lo_c0;
      }
      for (int32_t col = 0; col < w; col++, out += c) {
        const int32_t x0 = q0;
        const int32_t x1 = q1 > ow - 1 ? ow - 1 : q1;
        if (++m1 == sw) { /* step to col + 1 */
          m1 = 0;
          q1++;
        }
        if (col + lo_c0 >= 0 && --m0 < 0) {
          q0++;
          m0 += sw;
        }
        if (y0 > y1 || x0 > x1) {
          FOR_CHUNKS(ch, c) {
            store_part(out + ch, part, zero);
            NEXT_CHUNK(ch, c);
          }
          continue;
        }
        const f32 *src0 = dyi + (int64_t)y0 * dy_row + (int64_t)x0 * c;
        if (y0 == y1 && x0 == x1) { /* one window (stride >= window, e.g. 2x2 / 2) */
          FOR_CHUNKS(ch, c) {
            store_part(out + ch, part, wasm_f32x4_mul(load_part(src0 + ch, part), mult));
            NEXT_CHUNK(ch, c);
          }
          continue;
        }
        FOR_CHUNKS(ch, c) {
          v128_t acc = zero;
          for (int32_t y = y0; y <= y1; y++) {
            const f32 *src = src0 + (int64_t)(y - y0) * dy_row + ch;
            for (int32_t x = x0; x <= x1; x++) acc = wasm_f32x4_add(acc, load_part(src + (int64_t)(x - x0) * c, part));
          }
          store_part(out + ch, part, wasm_f32x4_mul(acc, mult));
          NEXT_CHUNK(ch, c);
        }
      }
    }
  }
}
