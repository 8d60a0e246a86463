/*
 * Layerforge's own wasm training kernels, compiled to WebAssembly (SIMD128) by build.mjs and run
 * directly on tfjs's wasm heap: the module imports the tfjs wasm backend's (shared) memory, so the
 * arguments are heap byte offsets of tensors tfjs already allocated, and nothing is copied.
 *
 * Rules that keep this safe inside another module's memory (build.mjs checks the output):
 *  - no data segments, no static or global variables, no stack: every function is a leaf working
 *    on scalars and SIMD values only (no local arrays, no address-taken locals, no calls);
 *  - every write goes to an output tensor the caller allocated for exactly that size.
 */
// layerforge: relaxed-simd
#include "simd.h"


/* MADD / ACC (relaxed_madd in the relaxed build), exp4: simd.h. */

/*
 * dx of max pooling (NHWC, float32): each output's dy goes to the FIRST maximum of its window (as on
 * tfjs's cpu backend and in TensorFlow); values that are NaN never win, and a window whose inputs
 * are all NaN passes no gradient. Overlapping windows accumulate. Vectorised over 4 channels: per
 * window, a first pass finds each lane's winning tap index, a second pass adds dy to the winner.
 */
__attribute__((export_name("maxpool_grad")))
void maxpool_grad(const f32 *x, const f32 *dy, f32 *dx, int32_t nb, int32_t h, int32_t w, int32_t c,
                  int32_t oh, int32_t ow, int32_t sh, int32_t sw, int32_t pad_top, int32_t pad_left,
                  int32_t efh, int32_t efw, int32_t dh, int32_t dw, int32_t b_begin, int32_t b_end) {
  /* Images [b_begin, b_end) only (two threads split the batch; each clears and writes its own images). */
  if (b_end > nb) b_end = nb;
  if (b_begin < 0) b_begin = 0;
  if (b_begin >= b_end) return;
  const int64_t image = (int64_t)h * w * c;
  __builtin_memset(dx + b_begin * image, 0, (unsigned long)((b_end - b_begin) * image) * sizeof(f32));
  const int32_t c4 = c & ~3;
  for (int32_t b = b_begin; b < b_end; b++) {
    const f32 *xi = x + (int64_t)b * h * w * c;
    f32 *dxi = dx + (int64_t)b * h * w * c;
    for (int32_t yr = 0; yr < oh; yr++) {
      const int32_t r0 = yr * sh - pad_top;
      for (int32_t yc = 0; yc < ow; yc++) {
        const int32_t c0 = yc * sw - pad_left;
        const f32 *dyp = dy + (((int64_t)b * oh + yr) * ow + yc) * c;
        for (int32_t ch = 0; ch < c4; ch += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t idx = wasm_i32x4_splat(-1);
          int32_t k = 0;
          for (int32_t wr = 0; wr < efh; wr += dh) {
            const int32_t xr = r0 + wr;
            if (xr < 0 || xr >= h) continue;
            for (int32_t wc = 0; wc < efw; wc += dw, k++) {
              const int32_t xc = c0 + wc;
              if (xc < 0 || xc >= w) continue;
              const v128_t v = wasm_v128_load(xi + ((int64_t)xr * w + xc) * c + ch);
              const v128_t gt = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, gt);
              idx = wasm_v128_bitselect(wasm_i32x4_splat(k), idx, gt);
            }
          }
          const v128_t g = wasm_v128_load(dyp + ch);
          k = 0;
          for (int32_t wr = 0; wr < efh; wr += dh) {
            const int32_t xr = r0 + wr;
            if (xr < 0 || xr >= h) continue;
            for (int32_t wc = 0; wc < efw; wc += dw, k++) {
              const int32_t xc = c0 + wc;
              if (xc < 0 || xc >= w) continue;
              const v128_t hit = wasm_i32x4_eq(idx, wasm_i32x4_splat(k));
              f32 *p = dxi + ((int64_t)xr * w + xc) * c + ch;
              wasm_v128_store(p, wasm_f32x4_add(wasm_v128_load(p), wasm_v128_and(g, hit)));
            }
          }
        }
        for (int32_t ch = c4; ch < c; ch++) {
          f32 best = -__builtin_inff();
          int64_t at = -1;
          for (int32_t wr = 0; wr < efh; wr += dh) {
            const int32_t xr = r0 + wr;
            if (xr < 0 || xr >= h) continue;
            for (int32_t wc = 0; wc < efw; wc += dw) {
              const int32_t xc = c0 + wc;
              if (xc < 0 || xc >= w) continue;
              const int64_t p = ((int64_t)xr * w + xc) * c + ch;
              if (xi[p] > best) {
                best = xi[p];
                at = p;
              }
            }
          }
          if (at >= 0) dxi[at] += dyp[ch];
        }
      }
    }
  }
}

/*
 * maxpool_grad for windows that tile the input exactly (stride = window, no dilation, no padding:
 * the usual 2x2 / stride 2 pool): every input element lies in at most one window, so each window
 * STORES dy or 0 into its taps (no clearing pass and no read-modify-write of dx: about half the
 * memory traffic); only the rows and columns no window covers are cleared. Same winner rule as
 * maxpool_grad (first maximum, NaN never wins). Images [b_begin, b_end).
 */
__attribute__((export_name("maxpool_grad_tiled")))
void maxpool_grad_tiled(const f32 *x, const f32 *dy, f32 *dx, int32_t nb, int32_t h, int32_t w, int32_t c,
                        int32_t oh, int32_t ow, int32_t kh, int32_t kw, int32_t b_begin, int32_t b_end) {
  if (b_end > nb) b_end = nb;
  if (b_begin < 0) b_begin = 0;
  const int32_t c4 = c & ~3;
  const int32_t rows = oh * kh, cols = ow * kw; /* covered region */
  for (int32_t b = b_begin; b < b_end; b++) {
    const f32 *xi = x + (int64_t)b * h * w * c;
    f32 *dxi = dx + (int64_t)b * h * w * c;
    for (int32_t yr = 0; yr < oh; yr++) {
      const int32_t r0 = yr * kh;
      for (int32_t yc = 0; yc < ow; yc++) {
        const int64_t base = ((int64_t)r0 * w + (int64_t)yc * kw) * c;
        const f32 *dyp = dy + (((int64_t)b * oh + yr) * ow + yc) * c;
        for (int32_t ch = 0; ch < c4; ch += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t idx = wasm_i32x4_splat(-1);
          int32_t k = 0;
          for (int32_t wr = 0; wr < kh; wr++)
            for (int32_t wc = 0; wc < kw; wc++, k++) {
              const v128_t v = wasm_v128_load(xi + base + ((int64_t)wr * w + wc) * c + ch);
              const v128_t gt = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, gt);
              idx = wasm_v128_bitselect(wasm_i32x4_splat(k), idx, gt);
            }
          const v128_t g = wasm_v128_load(dyp + ch);
          k = 0;
          for (int32_t wr = 0; wr < kh; wr++)
            for (int32_t wc = 0; wc < kw; wc++, k++)
              wasm_v128_store(dxi + base + ((int64_t)wr * w + wc) * c + ch, wasm_v128_and(g, wasm_i32x4_eq(idx, wasm_i32x4_splat(k))));
        }
        for (int32_t ch = c4; ch < c; ch++) {
          f32 best = -__builtin_inff();
          int64_t at = -1;
          for (int32_t wr = 0; wr < kh; wr++)
            for (int32_t wc = 0; wc < kw; wc++) {
              const int64_t p = base + ((int64_t)wr * w + wc) * c + ch;
              dxi[p] = 0.0f;
              if (xi[p] > best) {
                best = xi[p];
                at = p;
              }
            }
          if (at >= 0) dxi[at] = dyp[ch];
        }
      }
      /* Columns right of the last window, in this band of rows. */
      if (cols < w)
        for (int32_t r = r0; r < r0 + kh; r++)
          __builtin_memset(dxi + ((int64_t)r * w + cols) * c, 0, (unsigned long)((int64_t)(w - cols) * c) * sizeof(f32));
    }
    /* Rows below the last window. */
    if (rows < h) __builtin_memset(dxi + (int64_t)rows * w * c, 0, (unsigned long)((int64_t)(h - rows) * w * c) * sizeof(f32));
  }
}

/*
 * y[j] = sum over i of x[i*k + j] for an [m, k] float32 matrix (a sum over the leading axes: every
 * bias gradient). Blocks of 64 rows (which stay in L1 cache) are summed column group by column group
 * in float32 registers, then added to y: a two-level sum, far more accurate than one running float32
 * sum over all m rows (the cpu backend's way).
 */
__attribute__((export_name("sum_rows")))
void sum_rows(const f32 *x, f32 *y, int32_t m, int32_t k) {
  const int32_t k4 = k & ~3;
  __builtin_memset(y, 0, (unsigned long)k * sizeof(f32));
  for (int32_t i0 = 0; i0 < m; i0 += 64) {
    const int32_t i1 = i0 + 64 < m ? i0 + 64 : m;
    for (int32_t j = 0; j < k4; j += 4) {
      /* Four accumulators (rows i, i+1, i+2, i+3): one chain of adds is latency-bound for small k. */
      v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
      const f32 *p = x + (int64_t)i0 * k + j;
      int32_t i = i0;
      for (; i + 4 <= i1; i += 4, p += 4 * k) {
        a0 = wasm_f32x4_add(a0, wasm_v128_load(p));
        a1 = wasm_f32x4_add(a1, wasm_v128_load(p + k));
        a2 = wasm_f32x4_add(a2, wasm_v128_load(p + 2 * k));
        a3 = wasm_f32x4_add(a3, wasm_v128_load(p + 3 * k));
      }
      for (; i < i1; i++, p += k) a0 = wasm_f32x4_add(a0, wasm_v128_load(p));
      const v128_t acc = wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3));
      wasm_v128_store(y + j, wasm_f32x4_add(wasm_v128_load(y + j), acc));
    }
    for (int32_t j = k4; j < k; j++) {
      f32 acc = 0.0f;
      for (int32_t i = i0; i < i1; i++) acc += x[(int64_t)i * k + j];
      y[j] += acc;
    }
  }
}

/*
 * One Adam step for one variable, fused (tfjs's Adam runs about 13 kernels per variable). Float32,
 * in exactly tfjs's order of operations:
 *   m' = m*b1 + g*(1-b1);  v' = v*b2 + g*g*(1-b2)
 *   x' = (m'/c1) / (sqrt(v'/c2) + eps) * (-lr) + x      with c1 = 1-b1^t, c2 = 1-b2^t
 * Inputs x, g, m, v; outputs xo, mo, vo (n floats each, allocated by the caller).
 */
__attribute__((export_name("adam_update")))
void adam_update(const f32 *x, const f32 *g, const f32 *m, const f32 *v, f32 *xo, f32 *mo, f32 *vo, int32_t n,
                 f32 lr, f32 b1, f32 one_minus_b1, f32 b2, f32 one_minus_b2, f32 c1, f32 c2, f32 eps) {
  const int32_t n4 = n & ~3;
  const v128_t vb1 = wasm_f32x4_splat(b1), vb1c = wasm_f32x4_splat(one_minus_b1);
  const v128_t vb2 = wasm_f32x4_splat(b2), vb2c = wasm_f32x4_splat(one_minus_b2);
  const v128_t vc1 = wasm_f32x4_splat(c1), vc2 = wasm_f32x4_splat(c2);
  const v128_t veps = wasm_f32x4_splat(eps), vlr = wasm_f32x4_splat(-lr);
  for (int32_t i = 0; i < n4; i += 4) {
    const v128_t gi = wasm_v128_load(g + i);
    const v128_t m1 = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), vb1), wasm_f32x4_mul(gi, vb1c));
    const v128_t v1 = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), vb2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), vb2c));
    const v128_t step = wasm_f32x4_div(wasm_f32x4_div(m1, vc1), wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(v1, vc2)), veps));
    wasm_v128_store(mo + i, m1);
    wasm_v128_store(vo + i, v1);
    wasm_v128_store(xo + i, wasm_f32x4_add(wasm_f32x4_mul(step, vlr), wasm_v128_load(x + i)));
  }
  for (int32_t i = n4; i < n; i++) {
    const f32 gi = g[i];
    const f32 m1 = m[i] * b1 + gi * one_minus_b1;
    const f32 v1 = v[i] * b2 + gi * gi * one_minus_b2;
    mo[i] = m1;
    vo[i] = v1;
    xo[i] = (m1 / c1) / (__builtin_sqrtf(v1 / c2) + eps) * (-lr) + x[i];
  }
}

/*
 * The gradient of ReLU: out = dy * step(x), where step(x) is 1 for x > 0, NaN for NaN and 0
 * otherwise (tfjs's Step), in one pass instead of Step + Cast + Multiply.
 */
__attribute__((export_name("relu_grad")))
void relu_grad(const f32 *x, const f32 *dy, f32 *out, int32_t n) {
  const int32_t n4 = n & ~3;
  for (int32_t i = 0; i < n4; i += 4) wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(dy + i), relu_step4(wasm_v128_load(x + i))));
  for (int32_t i = n4; i < n; i++) out[i] = dy[i] * relu_step1(x[i]);
}

/*
 * A dense layer's epilogue in place: y[r][c] = act(y[r][c] + bias[c]) over rows x cols, act 0 linear,
 * 1 relu (x < 0 ? 0 : x, NaN kept as tfjs's), 2 relu6 (the same, then capped at 6). One pass where tfjs's
 * broadcasting Add and its Relu were two (the Add ~45 ns per element).
 */
__attribute__((export_name("bias_act")))
void bias_act(f32 *y, const f32 *bias, int32_t rows, int32_t cols, int32_t act) {
  const int32_t c4 = cols & ~3;
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  for (int32_t r = 0; r < rows; r++) {
    f32 *row = y + (int64_t)r * cols;
    for (int32_t c = 0; c < c4; c += 4) {
      v128_t v = wasm_f32x4_add(wasm_v128_load(row + c), wasm_v128_load(bias + c));
      if (act >= 1) v = wasm_v128_bitselect(zero, v, wasm_f32x4_lt(v, zero));
      if (act == 2) v = wasm_v128_bitselect(six, v, wasm_f32x4_gt(v, six));
      wasm_v128_store(row + c, v);
    }
    for (int32_t c = c4; c < cols; c++) {
      f32 v = row[c] + bias[c];
      if (act >= 1 && v < 0.0f) v = 0.0f;
      if (act == 2 && v > 6.0f) v = 6.0f;
      row[c] = v;
    }
  }
}

/*
 * A residual merge and its ReLU in one pass (inference: Add then Activation relu): out = relu(a + b),
 * where relu keeps NaN as tfjs's does (x < 0 ? 0 : x). out may alias a or b.
 */
__attribute__((export_name("add_relu")))
void add_relu(const f32 *a, const f32 *b, f32 *out, int32_t n) {
  const int32_t n4 = n & ~3;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int32_t i = 0; i < n4; i += 4) {
    const v128_t s = wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(b + i));
    wasm_v128_store(out + i, wasm_v128_bitselect(zero, s, wasm_f32x4_lt(s, zero)));
  }
  for (int32_t i = n4; i < n; i++) {
    const f32 s = a[i] + b[i];
    out[i] = s < 0.0f ? 0.0f : s;
  }
}

/*
 * dW of a 2-D convolution (NHWC input x, dy [N, OH, OW, F], dW [FH, FW, C, F]) by direct
 * accumulation, vectorised over F: every in-bounds input value x[c] adds x[c] * dy[p, :] to the row
 * dW[i, j, c, :]. Output positions are taken in blocks of up to 16 along a row, so that each dW row
 * is loaded and stored once per block (16 floats of it held in 4 SIMD registers) while the block's
 * dy rows stay in L1 cache; two channels' rows at a time (8 accumulators, each dy load used twice).
 * Since convGrad.c took the other shapes, this runs for fewer than 8 input channels (an image's first
 * layer) and output channels that are not a multiple of 8. Single-threaded, so it pays only where XNNPACK's GEMM is at its worst:
 * few rows (FH*FW*C small, e.g. a first layer on RGB input) against a very long reduction
 * (N*OH*OW), where XNNPACK streams the whole dy "filter" from memory once per row tile.
 */
__attribute__((export_name("conv2d_filter_grad")))
void conv2d_filter_grad(const f32 *x, const f32 *dy, f32 *dw, int32_t nb, int32_t h, int32_t w, int32_t c,
                        int32_t oh, int32_t ow, int32_t f, int32_t fh, int32_t fw, int32_t sh, int32_t sw,
                        int32_t pad_top, int32_t pad_left, int32_t dil_h, int32_t dil_w,
                        int32_t row_begin, int32_t row_end, int32_t zero) {
  /* Rows [row_begin, row_end) of dW (as [FH*FW*C, F]) only: two threads split the rows, each writing
     its own contiguous part of dW. zero: clear the whole dW first. */
  if (zero) __builtin_memset(dw, 0, (unsigned long)fh * fw * c * f * sizeof(f32));
  const int32_t f16 = f & ~15, f4 = f & ~3;
  for (int32_t b = 0; b < nb; b++) {
    const f32 *xi = x + (int64_t)b * h * w * c;
    for (int32_t yr = 0; yr < oh; yr++) {
      for (int32_t q0 = 0; q0 < ow; q0 += 16) {
        const int32_t q1 = q0 + 16 < ow ? q0 + 16 : ow;
        const f32 *gb = dy + (((int64_t)b * oh + yr) * ow) * f;
        for (int32_t i = 0; i < fh; i++) {
          const int32_t xr = yr * sh - pad_top + i * dil_h;
          if (xr < 0 || xr >= h) continue;
          const f32 *xrow = xi + (int64_t)xr * w * c;
          for (int32_t j = 0; j < fw; j++) {
            /* The output columns of this block whose input column is inside the image. */
            int32_t p0 = q0, p1 = q1;
            while (p0 < p1 && p0 * sw - pad_left + j * dil_w < 0) p0++;
            while (p1 > p0 && (p1 - 1) * sw - pad_left + j * dil_w >= w) p1--;
            if (p0 >= p1) continue;
            const int32_t r0 = (i * fw + j) * c;
            const int32_t ch0 = row_begin > r0 ? row_begin - r0 : 0;
            const int32_t ch1 = row_end - r0 < c ? row_end - r0 : c;
            const int64_t xstep2 = (int64_t)sw * c;
            int32_t ch = ch0;
            /* Two channels (two dW rows) at a time: 8 independent accumulators per 16 filters instead of
               4 (the FMA chains' latency bound the single-row loop), each dy load feeding two of them. */
            for (; ch + 1 < ch1; ch += 2) {
              f32 *row = dw + ((int64_t)r0 + ch) * f, *row2 = row + f;
              const f32 *xp = xrow + (int64_t)(p0 * sw - pad_left + j * dil_w) * c + ch;
              for (int32_t k = 0; k < f16; k += 16) {
                v128_t a0 = wasm_v128_load(row + k), a1 = wasm_v128_load(row + k + 4);
                v128_t a2 = wasm_v128_load(row + k + 8), a3 = wasm_v128_load(row + k + 12);
                v128_t b0 = wasm_v128_load(row2 + k), b1 = wasm_v128_load(row2 + k + 4);
                v128_t b2 = wasm_v128_load(row2 + k + 8), b3 = wasm_v128_load(row2 + k + 12);
                const f32 *xq = xp;
                for (int32_t p = p0; p < p1; p++, xq += xstep2) {
                  const v128_t xs = wasm_v128_load32_splat(xq), xt = wasm_v128_load32_splat(xq + 1);
                  const f32 *g = gb + (int64_t)p * f + k;
                  const v128_t g0 = wasm_v128_load(g), g1 = wasm_v128_load(g + 4), g2 = wasm_v128_load(g + 8), g3 = wasm_v128_load(g + 12);
                  a0 = ACC(a0, xs, g0); a1 = ACC(a1, xs, g1); a2 = ACC(a2, xs, g2); a3 = ACC(a3, xs, g3);
                  b0 = ACC(b0, xt, g0); b1 = ACC(b1, xt, g1); b2 = ACC(b2, xt, g2); b3 = ACC(b3, xt, g3);
                }
                wasm_v128_store(row + k, a0); wasm_v128_store(row + k + 4, a1);
                wasm_v128_store(row + k + 8, a2); wasm_v128_store(row + k + 12, a3);
                wasm_v128_store(row2 + k, b0); wasm_v128_store(row2 + k + 4, b1);
                wasm_v128_store(row2 + k + 8, b2); wasm_v128_store(row2 + k + 12, b3);
              }
              for (int32_t k = f16; k < f4; k += 4) {
                v128_t a0 = wasm_v128_load(row + k), b0 = wasm_v128_load(row2 + k);
                const f32 *xq = xp;
                for (int32_t p = p0; p < p1; p++, xq += xstep2) {
                  const v128_t g0 = wasm_v128_load(gb + (int64_t)p * f + k);
                  a0 = ACC(a0, wasm_v128_load32_splat(xq), g0);
                  b0 = ACC(b0, wasm_v128_load32_splat(xq + 1), g0);
                }
                wasm_v128_store(row + k, a0);
                wasm_v128_store(row2 + k, b0);
              }
              for (int32_t k = f4; k < f; k++) {
                f32 a = row[k], bb = row2[k];
                const f32 *xq = xp;
                for (int32_t p = p0; p < p1; p++, xq += xstep2) {
                  a += xq[0] * gb[(int64_t)p * f + k];
                  bb += xq[1] * gb[(int64_t)p * f + k];
                }
                row[k] = a;
                row2[k] = bb;
              }
            }
            for (; ch < ch1; ch++) {
              f32 *row = dw + ((int64_t)r0 + ch) * f;
              const f32 *xp = xrow + (int64_t)(p0 * sw - pad_left + j * dil_w) * c + ch;
              const int64_t xstep = (int64_t)sw * c;
              for (int32_t k = 0; k < f16; k += 16) {
                v128_t a0 = wasm_v128_load(row + k), a1 = wasm_v128_load(row + k + 4);
                v128_t a2 = wasm_v128_load(row + k + 8), a3 = wasm_v128_load(row + k + 12);
                const f32 *xq = xp;
                for (int32_t p = p0; p < p1; p++, xq += xstep) {
                  const v128_t xs = wasm_f32x4_splat(*xq);
                  const f32 *g = gb + (int64_t)p * f + k;
                  a0 = ACC(a0, xs, wasm_v128_load(g));
                  a1 = ACC(a1, xs, wasm_v128_load(g + 4));
                  a2 = ACC(a2, xs, wasm_v128_load(g + 8));
                  a3 = ACC(a3, xs, wasm_v128_load(g + 12));
                }
                wasm_v128_store(row + k, a0);
                wasm_v128_store(row + k + 4, a1);
                wasm_v128_store(row + k + 8, a2);
                wasm_v128_store(row + k + 12, a3);
              }
              for (int32_t k = f16; k < f4; k += 4) {
                v128_t a0 = wasm_v128_load(row + k);
                const f32 *xq = xp;
                for (int32_t p = p0; p < p1; p++, xq += xstep)
                  a0 = ACC(a0, wasm_f32x4_splat(*xq), wasm_v128_load(gb + (int64_t)p * f + k));
                wasm_v128_store(row + k, a0);
              }
              for (int32_t k = f4; k < f; k++) {
                f32 a = row[k];
                const f32 *xq = xp;
                for (int32_t p = p0; p < p1; p++, xq += xstep) a += *xq * gb[(int64_t)p * f + k];
                row[k] = a;
              }
            }
          }
        }
      }
    }
  }
}

/*
 * The filter of a transposed convolution's forward pass: out[i][j][o][c] = w[fh-1-i][fw-1-j][c][o]
 * (spatially flipped, input/output channels swapped), for Conv2DBackpropInput. tfjs's Reverse and
 * Transpose take two passes and far longer than this small tensor should.
 */
__attribute__((export_name("filter_flip_swap")))
void filter_flip_swap(const f32 *w, f32 *out, int32_t fh, int32_t fw, int32_t ci, int32_t co) {
  for (int32_t i = 0; i < fh; i++)
    for (int32_t j = 0; j < fw; j++) {
      const f32 *src = w + ((int64_t)(fh - 1 - i) * fw + (fw - 1 - j)) * ci * co;
      f32 *dst = out + ((int64_t)i * fw + j) * co * ci;
      for (int32_t c = 0; c < ci; c++)
        for (int32_t o = 0; o < co; o++) dst[(int64_t)o * ci + c] = src[(int64_t)c * co + o];
    }
}

/*
 * Batch normalisation with per-channel statistics (NHWC, channels last):
 *   out = (x - mean[c]) * scale[c] / sqrt(var[c] + eps) + offset[c]
 * scale/offset may be 0 (absent: 1 and 0). scratch holds 2*c floats (the per-channel multiplier and
 * shift, computed once), so the pass over x is one multiply-add per element.
 */
__attribute__((export_name("batch_norm")))
void batch_norm(const f32 *x, const f32 *mean, const f32 *var, const f32 *offset, const f32 *scale, f32 *out,
                f32 *scratch, int32_t rows, int32_t c, f32 eps) {
  f32 *mul = scratch, *add = scratch + c;
  for (int32_t j = 0; j < c; j++) {
    const f32 m = (scale ? scale[j] : 1.0f) / __builtin_sqrtf(var[j] + eps);
    mul[j] = m;
    add[j] = (offset ? offset[j] : 0.0f) - mean[j] * m;
  }
  const int32_t c4 = c & ~3;
  for (int32_t r = 0; r < rows; r++) {
    const f32 *xr = x + (int64_t)r * c;
    f32 *orow = out + (int64_t)r * c;
    for (int32_t j = 0; j < c4; j += 4)
      wasm_v128_store(orow + j, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(xr + j), wasm_v128_load(mul + j)), wasm_v128_load(add + j)));
    for (int32_t j = c4; j < c; j++) orow[j] = xr[j] * mul[j] + add[j];
  }
}

/*
 * Matrix products, batched: for every batch index bi in [batch_begin, batch_end),
 *   C[bi] (m x n) = op(A[bi]) (m x k) · op(B[bi]) (k x n)
 * where op(A) is A stored [m, k] (ta = 0) or [k, m] (ta = 1), and op(B) is B stored [k, n] (tb = 0)
 * or [n, k] (tb = 1). a_bs / b_bs are the batch strides in floats (0: the same matrix for every
 * batch); C is dense [batch, m, n]. Only rows [row_begin, row_end) of each C are written, so two
 * threads can split one product by rows (or by batches). pack holds k*n floats: a transposed B is
 * first copied there as [k, n] (once per batch, or once per call when B is shared).
 *
 * Blocking: the reduction in slices of KC (C accumulates across slices), rows in blocks of MC, and
 * inside them strips of 8 columns of B (KC x 8 floats, kept in L1) against 4 rows of A at a time:
 * 8 SIMD accumulators, per k step 2 loads of B, 4 broadcasts of A, 8 multiplies and 8 adds.
 */
#define GEMM_KC 256
#define GEMM_MC 64

__attribute__((always_inline)) static inline void gemm_rows4(const f32 *pa, int32_t rs, int32_t ps, const f32 *bk, int32_t n,
                                                             f32 *cr, int32_t j, int32_t w, int32_t kc, int32_t first) {
  /* 4 rows of C (cr: row i, stride n) x w columns (w = 8 or 4) over kc steps. pa: A(i, p0); bk: B(p0, 0). */
  if (w == 8) {
    v128_t c00, c01, c10, c11, c20, c21, c30, c31;
    if (first) {
      c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = wasm_f32x4_splat(0.0f);
    } else {
      c00 = wasm_v128_load(cr + j); c01 = wasm_v128_load(cr + j + 4);
      c10 = wasm_v128_load(cr + n + j); c11 = wasm_v128_load(cr + n + j + 4);
      c20 = wasm_v128_load(cr + 2 * n + j); c21 = wasm_v128_load(cr + 2 * n + j + 4);
      c30 = wasm_v128_load(cr + 3 * n + j); c31 = wasm_v128_load(cr + 3 * n + j + 4);
    }
    const f32 *bp = bk + j;
    for (int32_t p = 0; p < kc; p++, pa += ps, bp += n) {
      const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
      v128_t x = wasm_v128_load32_splat(pa);
      c00 = ACC(c00, x, b0); c01 = ACC(c01, x, b1);
      x = wasm_v128_load32_splat(pa + rs);
      c10 = ACC(c10, x, b0); c11 = ACC(c11, x, b1);
      x = wasm_v128_load32_splat(pa + 2 * rs);
      c20 = ACC(c20, x, b0); c21 = ACC(c21, x, b1);
      x = wasm_v128_load32_splat(pa + 3 * rs);
      c30 = ACC(c30, x, b0); c31 = ACC(c31, x, b1);
    }
    wasm_v128_store(cr + j, c00); wasm_v128_store(cr + j + 4, c01);
    wasm_v128_store(cr + n + j, c10); wasm_v128_store(cr + n + j + 4, c11);
    wasm_v128_store(cr + 2 * n + j, c20); wasm_v128_store(cr + 2 * n + j + 4, c21);
    wasm_v128_store(cr + 3 * n + j, c30); wasm_v128_store(cr + 3 * n + j + 4, c31);
  } else {
    v128_t c0, c1, c2, c3;
    if (first) {
      c0 = c1 = c2 = c3 = wasm_f32x4_splat(0.0f);
    } else {
      c0 = wasm_v128_load(cr + j); c1 = wasm_v128_load(cr + n + j);
      c2 = wasm_v128_load(cr + 2 * n + j); c3 = wasm_v128_load(cr + 3 * n + j);
    }
    const f32 *bp = bk + j;
    for (int32_t p = 0; p < kc; p++, pa += ps, bp += n) {
      const v128_t b0 = wasm_v128_load(bp);
      c0 = ACC(c0, wasm_v128_load32_splat(pa), b0);
      c1 = ACC(c1, wasm_v128_load32_splat(pa + rs), b0);
      c2 = ACC(c2, wasm_v128_load32_splat(pa + 2 * rs), b0);
      c3 = ACC(c3, wasm_v128_load32_splat(pa + 3 * rs), b0);
    }
    wasm_v128_store(cr + j, c0); wasm_v128_store(cr + n + j, c1);
    wasm_v128_store(cr + 2 * n + j, c2); wasm_v128_store(cr + 3 * n + j, c3);
  }
}

__attribute__((export_name("gemm")))
void gemm(const f32 *a, const f32 *b, f32 *c, f32 *pack, int32_t m, int32_t n, int32_t k, int32_t ta, int32_t tb,
          int32_t a_bs, int32_t b_bs, int32_t batch_begin, int32_t batch_end, int32_t row_begin, int32_t row_end) {
  const int32_t rs = ta ? 1 : k, ps = ta ? m : 1; /* A(i, p) = A[i*rs + p*ps] */
  const int32_t n8 = n & ~7, n4 = n & ~3;
  for (int32_t bi = batch_begin; bi < batch_end; bi++) {
    const f32 *A = a + (int64_t)bi * a_bs;
    const f32 *B = b + (int64_t)bi * b_bs;
    f32 *C = c + (int64_t)bi * m * n;
    const f32 *Bk = B;
    if (tb) {
      if (bi == batch_begin || b_bs != 0) {
        /* [n, k] -> [k, n], in 8 x 8 tiles so that both sides stay in cache. */
        for (int32_t j0 = 0; j0 < n; j0 += 8)
          for (int32_t p0 = 0; p0 < k; p0 += 8) {
            const int32_t j1 = j0 + 8 < n ? j0 + 8 : n, p1 = p0 + 8 < k ? p0 + 8 : k;
            for (int32_t p = p0; p < p1; p++)
              for (int32_t j = j0; j < j1; j++) pack[(int64_t)p * n + j] = B[(int64_t)j * k + p];
          }
      }
      Bk = pack;
    }
    if (k == 0) {
      for (int32_t i = row_begin; i < row_end; i++) __builtin_memset(C + (int64_t)i * n, 0, (unsigned long)n * sizeof(f32));
      continue;
    }
    for (int32_t p0 = 0; p0 < k; p0 += GEMM_KC) {
      const int32_t kc = p0 + GEMM_KC < k ? GEMM_KC : k - p0;
      const int32_t first = p0 == 0;
      const f32 *bk = Bk + (int64_t)p0 * n;
      for (int32_t i0 = row_begin; i0 < row_end; i0 += GEMM_MC) {
        const int32_t i1 = i0 + GEMM_MC < row_end ? i0 + GEMM_MC : row_end;
        const int32_t i4 = i0 + ((i1 - i0) & ~3);
        for (int32_t j = 0; j < n8; j += 8)
          for (int32_t i = i0; i < i4; i += 4)
            gemm_rows4(A + (int64_t)i * rs + (int64_t)p0 * ps, rs, ps, bk, n, C + (int64_t)i * n, j, 8, kc, first);
        if (n4 > n8)
          for (int32_t i = i0; i < i4; i += 4)
            gemm_rows4(A + (int64_t)i * rs + (int64_t)p0 * ps, rs, ps, bk, n, C + (int64_t)i * n, n8, 4, kc, first);
        /* Leftover rows (fewer than 4), all columns; then leftover columns (fewer than 4), all rows. */
        for (int32_t i = i4; i < i1; i++) {
          f32 *cr = C + (int64_t)i * n;
          for (int32_t j = 0; j < n4; j += 4) {
            v128_t acc = first ? wasm_f32x4_splat(0.0f) : wasm_v128_load(cr + j);
            const f32 *pa = A + (int64_t)i * rs + (int64_t)p0 * ps;
            const f32 *bp = bk + j;
            for (int32_t p = 0; p < kc; p++, pa += ps, bp += n) acc = ACC(acc, wasm_v128_load32_splat(pa), wasm_v128_load(bp));
            wasm_v128_store(cr + j, acc);
          }
        }
        for (int32_t i = i0; i < i1; i++) {
          f32 *cr = C + (int64_t)i * n;
          for (int32_t j = n4; j < n; j++) {
            f32 acc = first ? 0.0f : cr[j];
            const f32 *pa = A + (int64_t)i * rs + (int64_t)p0 * ps;
            const f32 *bp = bk + j;
            for (int32_t p = 0; p < kc; p++, pa += ps, bp += n) acc += *pa * *bp;
            cr[j] = acc;
          }
        }
      }
    }
  }
}


/*
 * The packed GEMM (gemm_pk): the same products as gemm, with B packed into panels and an epilogue.
 *   C[bi] (rows [row_begin, row_end), columns [col_begin, col_end)) = act(op(A[bi]) · op(B[bi]) + bias)
 * Per block of PK_NC columns and PK_KC reduction steps, B (either layout) is copied into zero-padded
 * panels of 8 columns, [kc][8] each, so the micro-kernel reads 8 contiguous floats per step (a
 * transposed B is transposed 4x4 at a time on the way); A is read in place (4 row splats per step,
 * rows at stride k, or adjacent floats when transposed). Rows in blocks of PK_MC (A's block stays in
 * L1 while every panel passes), 4x8 register tiles (8 accumulators: V8 keeps them and the 2 B vectors
 * and the splat in registers; a 6x8 tile spilled). The last reduction block adds bias (0: none) and
 * applies act (0 linear, 1 relu, 2 relu6) before the store. Two threads split rows or columns
 * (col_begin a multiple of 8), or batches. pack: PK_KC * (min(n, PK_NC) + 8) floats per thread.
 */
#ifndef PK_KC
#define PK_KC 256
#endif
#ifndef PK_NC
#define PK_NC 256
#endif
#ifndef PK_MC
#define PK_MC 32
#endif

__attribute__((always_inline)) static inline void pk_pack_b(const f32 *B, int32_t n, int32_t k, int32_t tb, int32_t p0, int32_t kc,
                                                            int32_t j0, int32_t nc, f32 *pk) {
  const int32_t np = (nc + 7) >> 3;
  for (int32_t q = 0; q < np; q++) {
    f32 *dst = pk + (int64_t)q * kc * 8;
    const int32_t j = j0 + q * 8, w = nc - q * 8 < 8 ? nc - q * 8 : 8;
    if (!tb) {
      const f32 *src = B + (int64_t)p0 * n + j;
      if (w == 8) {
        for (int32_t p = 0; p < kc; p++, src += n) {
          wasm_v128_store(dst + 8 * p, wasm_v128_load(src));
          wasm_v128_store(dst + 8 * p + 4, wasm_v128_load(src + 4));
        }
      } else {
        for (int32_t p = 0; p < kc; p++, src += n)
          for (int32_t t = 0; t < 8; t++) dst[8 * p + t] = t < w ? src[t] : 0.0f;
      }
    } else {
      /* B stored [n, k]: B(p, j + t) = B[(j + t) * k + p]. */
      const f32 *src = B + (int64_t)j * k + p0;
      int32_t p = 0;
      if (w == 8) {
        for (; p + 4 <= kc; p += 4) {
          for (int32_t h = 0; h < 2; h++) {
            const f32 *s = src + (int64_t)(4 * h) * k + p;
            const v128_t r0 = wasm_v128_load(s), r1 = wasm_v128_load(s + k), r2 = wasm_v128_load(s + 2 * k), r3 = wasm_v128_load(s + 3 * k);
            const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
            const v128_t t2 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
            f32 *d = dst + 8 * p + 4 * h;
            wasm_v128_store(d, wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5));
            wasm_v128_store(d + 8, wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7));
            wasm_v128_store(d + 16, wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5));
            wasm_v128_store(d + 24, wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7));
          }
        }
      }
      for (; p < kc; p++)
        for (int32_t t = 0; t < 8; t++) dst[8 * p + t] = t < w ? src[(int64_t)t * k + p] : 0.0f;
    }
  }
}

/* One row of a tile leaving the registers: + C (unless first), and on the last block + bias and act. */
__attribute__((always_inline)) static inline void pk_out(f32 *c, v128_t v0, v128_t v1, int32_t w, int32_t first, int32_t last,
                                                         const f32 *bias, int32_t act) {
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  if (w == 8) {
    if (!first) {
      v0 = wasm_f32x4_add(v0, wasm_v128_load(c));
      v1 = wasm_f32x4_add(v1, wasm_v128_load(c + 4));
    }
    if (last) {
      if (bias) {
        v0 = wasm_f32x4_add(v0, wasm_v128_load(bias));
        v1 = wasm_f32x4_add(v1, wasm_v128_load(bias + 4));
      }
      if (act >= 1) {
        v0 = wasm_v128_bitselect(zero, v0, wasm_f32x4_lt(v0, zero));
        v1 = wasm_v128_bitselect(zero, v1, wasm_f32x4_lt(v1, zero));
      }
      if (act == 2) {
        v0 = wasm_v128_bitselect(six, v0, wasm_f32x4_gt(v0, six));
        v1 = wasm_v128_bitselect(six, v1, wasm_f32x4_gt(v1, six));
      }
    }
    wasm_v128_store(c, v0);
    wasm_v128_store(c + 4, v1);
    return;
  }
  const int32_t lo = w < 4 ? w : 4, hi = w - 4;
  if (!first) {
    v0 = wasm_f32x4_add(v0, load_part(c, lo));
    if (hi > 0) v1 = wasm_f32x4_add(v1, load_part(c + 4, hi));
  }
  if (last) {
    if (bias) {
      v0 = wasm_f32x4_add(v0, load_part(bias, lo));
      if (hi > 0) v1 = wasm_f32x4_add(v1, load_part(bias + 4, hi));
    }
    if (act >= 1) {
      v0 = wasm_v128_bitselect(zero, v0, wasm_f32x4_lt(v0, zero));
      v1 = wasm_v128_bitselect(zero, v1, wasm_f32x4_lt(v1, zero));
    }
    if (act == 2) {
      v0 = wasm_v128_bitselect(six, v0, wasm_f32x4_gt(v0, six));
      v1 = wasm_v128_bitselect(six, v1, wasm_f32x4_gt(v1, six));
    }
  }
  store_part(c, lo, v0);
  if (hi > 0) store_part(c + 4, hi, v1);
}

__attribute__((export_name("gemm_pk")))
void gemm_pk(const f32 *a, const f32 *b, f32 *c, f32 *pack, int32_t m, int32_t n, int32_t k, int32_t ta, int32_t tb, int32_t a_bs,
             int32_t b_bs, int32_t batch_begin, int32_t batch_end, int32_t row_begin, int32_t row_end, int32_t col_begin,
             int32_t col_end, const f32 *bias, int32_t act) {
  const int32_t rs = ta ? 1 : k, ps = ta ? m : 1; /* A(i, p) = A[i*rs + p*ps] */
  if (k <= 0 || row_begin >= row_end || col_begin >= col_end) return;
  for (int32_t bi = batch_begin; bi < batch_end; bi++) {
    const f32 *A = a + (int64_t)bi * a_bs;
    const f32 *B = b + (int64_t)bi * b_bs;
    f32 *C = c + (int64_t)bi * m * n;
    for (int32_t j0 = col_begin; j0 < col_end; j0 += PK_NC) {
      const int32_t nc = j0 + PK_NC < col_end ? PK_NC : col_end - j0, np = (nc + 7) >> 3;
      for (int32_t p0 = 0; p0 < k; p0 += PK_KC) {
        const int32_t kc = p0 + PK_KC < k ? PK_KC : k - p0;
        const int32_t first = p0 == 0, last = p0 + kc >= k;
        pk_pack_b(B, n, k, tb, p0, kc, j0, nc, pack);
        for (int32_t i0 = row_begin; i0 < row_end; i0 += PK_MC) {
          const int32_t i1 = i0 + PK_MC < row_end ? i0 + PK_MC : row_end;
          const int32_t i4 = i0 + ((i1 - i0) & ~3);
          for (int32_t q = 0; q < np; q++) {
            const f32 *bq = pack + (int64_t)q * kc * 8;
            const int32_t j = j0 + q * 8, w = j0 + nc - j < 8 ? j0 + nc - j : 8;
            const f32 *bj = bias ? bias + j : 0;
            for (int32_t i = i0; i < i4; i += 4) {
              const f32 *pa = A + (int64_t)i * rs + (int64_t)p0 * ps;
              const f32 *bp = bq;
              v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
              for (int32_t p = 0; p < kc; p++, pa += ps, bp += 8) {
                const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
                v128_t x = wasm_v128_load32_splat(pa);
                c00 = ACC(c00, x, b0); c01 = ACC(c01, x, b1);
                x = wasm_v128_load32_splat(pa + rs);
                c10 = ACC(c10, x, b0); c11 = ACC(c11, x, b1);
                x = wasm_v128_load32_splat(pa + 2 * rs);
                c20 = ACC(c20, x, b0); c21 = ACC(c21, x, b1);
                x = wasm_v128_load32_splat(pa + 3 * rs);
                c30 = ACC(c30, x, b0); c31 = ACC(c31, x, b1);
              }
              f32 *cr = C + (int64_t)i * n + j;
              pk_out(cr, c00, c01, w, first, last, bj, act);
              pk_out(cr + n, c10, c11, w, first, last, bj, act);
              pk_out(cr + 2 * n, c20, c21, w, first, last, bj, act);
              pk_out(cr + 3 * n, c30, c31, w, first, last, bj, act);
            }
            for (int32_t i = i4; i < i1; i++) {
              const f32 *pa = A + (int64_t)i * rs + (int64_t)p0 * ps;
              const f32 *bp = bq;
              v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00;
              for (int32_t p = 0; p < kc; p++, pa += ps, bp += 8) {
                const v128_t x = wasm_v128_load32_splat(pa);
                c00 = ACC(c00, x, wasm_v128_load(bp));
                c01 = ACC(c01, x, wasm_v128_load(bp + 4));
              }
              pk_out(C + (int64_t)i * n + j, c00, c01, w, first, last, bj, act);
            }
          }
        }
      }
    }
  }
}

/*
 * Layer normalisation over the last axis (rows of c features), forward:
 *   mean = Σx/c; var = Σ(x-mean)²/c (two passes: exact for large offsets); rstd = 1/sqrt(var+eps)
 *   y = (x-mean)·rstd·gamma + beta        (gamma / beta 0: absent, 1 and 0)
 * Rows [row_begin, row_end) only (two threads split the rows); mean and rstd (one per row) are kept
 * for the backward pass.
 */
__attribute__((export_name("layer_norm")))
void layer_norm(const f32 *x, const f32 *gamma, const f32 *beta, f32 *y, f32 *mean, f32 *rstd, int32_t c, f32 eps,
                int32_t row_begin, int32_t row_end) {
  const int32_t c4 = c & ~3;
  const f32 inv_c = 1.0f / (f32)c;
  for (int32_t r = row_begin; r < row_end; r++) {
    const f32 *xr = x + (int64_t)r * c;
    f32 *yr = y + (int64_t)r * c;
    v128_t acc = wasm_f32x4_splat(0.0f);
    for (int32_t j = 0; j < c4; j += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(xr + j));
    f32 s = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) + wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
    for (int32_t j = c4; j < c; j++) s += xr[j];
    const f32 mu = s * inv_c;
    const v128_t vmu = wasm_f32x4_splat(mu);
    acc = wasm_f32x4_splat(0.0f);
    for (int32_t j = 0; j < c4; j += 4) {
      const v128_t d = wasm_f32x4_sub(wasm_v128_load(xr + j), vmu);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d, d));
    }
    f32 q = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) + wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
    for (int32_t j = c4; j < c; j++) q += (xr[j] - mu) * (xr[j] - mu);
    const f32 rs = 1.0f / __builtin_sqrtf(q * inv_c + eps);
    mean[r] = mu;
    rstd[r] = rs;
    const v128_t vrs = wasm_f32x4_splat(rs), one = wasm_f32x4_splat(1.0f), zero = wasm_f32x4_splat(0.0f);
    for (int32_t j = 0; j < c4; j += 4) {
      const v128_t g = gamma ? wasm_v128_load(gamma + j) : one;
      const v128_t b = beta ? wasm_v128_load(beta + j) : zero;
      wasm_v128_store(yr + j, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), vmu), vrs), g), b));
    }
    for (int32_t j = c4; j < c; j++) yr[j] = (xr[j] - mu) * rs * (gamma ? gamma[j] : 1.0f) + (beta ? beta[j] : 0.0f);
  }
}

/*
 * Layer normalisation, backward, for rows [row_begin, row_end):
 *   xhat = (x-mean)·rstd;  g = dy·gamma
 *   dx = rstd·(g - mean(g) - xhat·mean(g·xhat))            (per row)
 *   dgamma += Σ_rows dy·xhat;  dbeta += Σ_rows dy         (into this thread's own dgamma / dbeta,
 * cleared here first; the caller adds the threads' parts).
 */
__attribute__((export_name("layer_norm_grad")))
void layer_norm_grad(const f32 *dy, const f32 *x, const f32 *mean, const f32 *rstd, const f32 *gamma, f32 *dx, f32 *dgamma,
                     f32 *dbeta, int32_t c, int32_t row_begin, int32_t row_end) {
  const int32_t c4 = c & ~3;
  const f32 inv_c = 1.0f / (f32)c;
  __builtin_memset(dgamma, 0, (unsigned long)c * sizeof(f32));
  __builtin_memset(dbeta, 0, (unsigned long)c * sizeof(f32));
  const v128_t one = wasm_f32x4_splat(1.0f);
  for (int32_t r = row_begin; r < row_end; r++) {
    const f32 *xr = x + (int64_t)r * c, *gr = dy + (int64_t)r * c;
    f32 *dxr = dx + (int64_t)r * c;
    const f32 mu = mean[r], rs = rstd[r];
    const v128_t vmu = wasm_f32x4_splat(mu), vrs = wasm_f32x4_splat(rs);
    v128_t sg = wasm_f32x4_splat(0.0f), sgx = wasm_f32x4_splat(0.0f);
    for (int32_t j = 0; j < c4; j += 4) {
      const v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), vmu), vrs);
      const v128_t d = wasm_v128_load(gr + j);
      const v128_t g = wasm_f32x4_mul(d, gamma ? wasm_v128_load(gamma + j) : one);
      sg = wasm_f32x4_add(sg, g);
      sgx = wasm_f32x4_add(sgx, wasm_f32x4_mul(g, xh));
      wasm_v128_store(dgamma + j, wasm_f32x4_add(wasm_v128_load(dgamma + j), wasm_f32x4_mul(d, xh)));
      wasm_v128_store(dbeta + j, wasm_f32x4_add(wasm_v128_load(dbeta + j), d));
    }
    f32 s1 = wasm_f32x4_extract_lane(sg, 0) + wasm_f32x4_extract_lane(sg, 1) + wasm_f32x4_extract_lane(sg, 2) + wasm_f32x4_extract_lane(sg, 3);
    f32 s2 = wasm_f32x4_extract_lane(sgx, 0) + wasm_f32x4_extract_lane(sgx, 1) + wasm_f32x4_extract_lane(sgx, 2) + wasm_f32x4_extract_lane(sgx, 3);
    for (int32_t j = c4; j < c; j++) {
      const f32 xh = (xr[j] - mu) * rs, d = gr[j], g = d * (gamma ? gamma[j] : 1.0f);
      s1 += g;
      s2 += g * xh;
      dgamma[j] += d * xh;
      dbeta[j] += d;
    }
    const f32 m1 = s1 * inv_c, m2 = s2 * inv_c;
    const v128_t vm1 = wasm_f32x4_splat(m1), vm2 = wasm_f32x4_splat(m2);
    for (int32_t j = 0; j < c4; j += 4) {
      const v128_t xh = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), vmu), vrs);
      const v128_t g = wasm_f32x4_mul(wasm_v128_load(gr + j), gamma ? wasm_v128_load(gamma + j) : one);
      wasm_v128_store(dxr + j, wasm_f32x4_mul(vrs, wasm_f32x4_sub(wasm_f32x4_sub(g, vm1), wasm_f32x4_mul(xh, vm2))));
    }
    for (int32_t j = c4; j < c; j++) {
      const f32 xh = (xr[j] - mu) * rs, g = gr[j] * (gamma ? gamma[j] : 1.0f);
      dxr[j] = rs * (g - m1 - xh * m2);
    }
  }
}

/*
 * Attention weights from scores, rows [row_begin, row_end) of n keys each (n a multiple of 4):
 *   y = softmax(scale·x) over each row; with causal, row r (query q = r mod tq) keeps keys 0..q only
 *   (the others get exactly 0, as exp(-1e9) does).
 */
__attribute__((export_name("attention_softmax")))
void attention_softmax(const f32 *x, f32 *y, int32_t n, int32_t scale_bits, int32_t causal, int32_t tq, int32_t row_begin, int32_t row_end) {
  const v128_t vs = wasm_i32x4_splat(scale_bits); /* the float scale's bits (integer arguments only: a helper thread may run this) */
  for (int32_t r = row_begin; r < row_end; r++) {
    const f32 *xr = x + (int64_t)r * n;
    f32 *yr = y + (int64_t)r * n;
    int32_t keep = causal ? (r % tq) + 1 : n;           /* keys [0, keep) take part */
    if (keep > n) keep = n;
    const int32_t keep4 = (keep + 3) & ~3;               /* whole vectors; the extra lanes are masked */
    v128_t mx = wasm_f32x4_splat(-__builtin_inff());
    for (int32_t j = 0; j < keep4; j += 4) {
      v128_t v = wasm_f32x4_mul(wasm_v128_load(xr + j), vs);
      const v128_t live = wasm_i32x4_lt(wasm_i32x4_make(j, j + 1, j + 2, j + 3), wasm_i32x4_splat(keep));
      v = wasm_v128_bitselect(v, wasm_f32x4_splat(-__builtin_inff()), live);
      mx = wasm_f32x4_max(mx, v);
    }
    f32 m = wasm_f32x4_extract_lane(mx, 0);
    for (int32_t l = 1; l < 4; l++) {
      const f32 e = l == 1 ? wasm_f32x4_extract_lane(mx, 1) : l == 2 ? wasm_f32x4_extract_lane(mx, 2) : wasm_f32x4_extract_lane(mx, 3);
      if (e > m) m = e;
    }
    const v128_t vm = wasm_f32x4_splat(m);
    v128_t sum = wasm_f32x4_splat(0.0f);
    for (int32_t j = 0; j < keep4; j += 4) {
      const v128_t live = wasm_i32x4_lt(wasm_i32x4_make(j, j + 1, j + 2, j + 3), wasm_i32x4_splat(keep));
      v128_t e = exp4(wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(xr + j), vs), vm));
      e = wasm_v128_and(e, live);
      sum = wasm_f32x4_add(sum, e);
      wasm_v128_store(yr + j, e);
    }
    const f32 total = wasm_f32x4_extract_lane(sum, 0) + wasm_f32x4_extract_lane(sum, 1) + wasm_f32x4_extract_lane(sum, 2) + wasm_f32x4_extract_lane(sum, 3);
    const v128_t inv = wasm_f32x4_splat(1.0f / total);
    for (int32_t j = 0; j < keep4; j += 4) wasm_v128_store(yr + j, wasm_f32x4_mul(wasm_v128_load(yr + j), inv));
    if (keep4 < n) __builtin_memset(yr + keep4, 0, (unsigned long)(n - keep4) * sizeof(f32));
  }
}

/*
 * Its gradient with respect to the scores: dx = scale·y·(dy − Σ_j dy·y), rows [row_begin, row_end),
 * n a multiple of 4 (masked keys have y = 0, so they get 0). scale_bits: the float's bits.
 */
__attribute__((export_name("attention_softmax_grad")))
void attention_softmax_grad(const f32 *y, const f32 *dy, f32 *dx, int32_t n, int32_t scale_bits, int32_t row_begin, int32_t row_end) {
  for (int32_t r = row_begin; r < row_end; r++) {
    const f32 *yr = y + (int64_t)r * n, *gr = dy + (int64_t)r * n;
    f32 *dr = dx + (int64_t)r * n;
    v128_t acc = wasm_f32x4_splat(0.0f);
    for (int32_t j = 0; j < n; j += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(yr + j), wasm_v128_load(gr + j)));
    const f32 dot = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) + wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
    const v128_t vd = wasm_f32x4_splat(dot), vs = wasm_i32x4_splat(scale_bits);
    for (int32_t j = 0; j < n; j += 4)
      wasm_v128_store(dr + j, wasm_f32x4_mul(vs, wasm_f32x4_mul(wasm_v128_load(yr + j), wasm_f32x4_sub(wasm_v128_load(gr + j), vd))));
  }
}
