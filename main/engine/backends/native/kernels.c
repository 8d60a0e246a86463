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
#include <stdint.h>
#include <wasm_simd128.h>

typedef float f32;

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
      v128_t acc = wasm_f32x4_splat(0.0f);
      for (int32_t i = i0; i < i1; i++) acc = wasm_f32x4_add(acc, wasm_v128_load(x + (int64_t)i * k + j));
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
  const v128_t one = wasm_f32x4_splat(1.0f), zero = wasm_f32x4_splat(0.0f), nan = wasm_f32x4_splat(__builtin_nanf(""));
  for (int32_t i = 0; i < n4; i += 4) {
    const v128_t xi = wasm_v128_load(x + i);
    v128_t s = wasm_v128_bitselect(one, zero, wasm_f32x4_gt(xi, zero));
    s = wasm_v128_bitselect(nan, s, wasm_f32x4_ne(xi, xi));
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(dy + i), s));
  }
  for (int32_t i = n4; i < n; i++) {
    const f32 xi = x[i];
    const f32 s = xi > 0.0f ? 1.0f : (xi != xi ? __builtin_nanf("") : 0.0f);
    out[i] = dy[i] * s;
  }
}

/*
 * dW of a 2-D convolution (NHWC input x, dy [N, OH, OW, F], dW [FH, FW, C, F]) by direct
 * accumulation, vectorised over F: every in-bounds input value x[c] adds x[c] * dy[p, :] to the row
 * dW[i, j, c, :]. Output positions are taken in blocks of up to 16 along a row, so that each dW row
 * is loaded and stored once per block (16 floats of it held in 4 SIMD registers) while the block's
 * dy rows stay in L1 cache. Single-threaded, so it pays only where XNNPACK's GEMM is at its worst:
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
            for (int32_t ch = ch0; ch < ch1; ch++) {
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
                  a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xs, wasm_v128_load(g)));
                  a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xs, wasm_v128_load(g + 4)));
                  a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(xs, wasm_v128_load(g + 8)));
                  a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(xs, wasm_v128_load(g + 12)));
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
                  a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_f32x4_splat(*xq), wasm_v128_load(gb + (int64_t)p * f + k)));
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
