/*
 * Element-wise and data-movement kernels of training steps (backends/elementwise.ts,
 * backends/kernels.ts). Same rules as kernels.c: stack-free leaf functions on heap offsets, no data,
 * no calls (build.mjs checks). Export names are prefixed ew_.
 */
#include "simd.h"

/*
 * out[r, :] = x[r, :] + b for rows [r_begin, r_end) of x [rows, c] (a convolution's or dense layer's
 * bias, broadcast over the last axis). tfjs's wasm Add walks a broadcast with per-element index
 * arithmetic; this is one SIMD pass (c % 4 != 0: the last 4 channels of a row as a chunk overlapping
 * the one before, so no scalar tail; c <= 2: one flat run with the bias repeated in a vector). Two
 * threads split the rows.
 */
__attribute__((export_name("ew_bias_add")))
void ew_bias_add(const f32 *x, const f32 *b, f32 *out, int32_t c, int32_t r_begin, int32_t r_end) {
  if (r_begin >= r_end) return;
  if (c <= 2) {
    /* c = 1 or 2: the rows as one flat run, the bias as a repeating vector */
    const v128_t bv = c == 1 ? wasm_f32x4_splat(b[0]) : wasm_f32x4_make(b[0], b[1], b[0], b[1]);
    const int64_t n = (int64_t)(r_end - r_begin) * c, n4 = n & ~(int64_t)3;
    const f32 *xr = x + (int64_t)r_begin * c;
    f32 *o = out + (int64_t)r_begin * c;
    for (int64_t j = 0; j < n4; j += 4) wasm_v128_store(o + j, wasm_f32x4_add(wasm_v128_load(xr + j), bv));
    for (int64_t j = n4; j < n; j++) o[j] = xr[j] + b[j % c];
    return;
  }
  const int32_t c4 = c & ~3;
  if (c < 4 || c4 == c) {
    for (int32_t r = r_begin; r < r_end; r++) {
      const f32 *xr = x + (int64_t)r * c;
      f32 *o = out + (int64_t)r * c;
      for (int32_t j = 0; j < c4; j += 4) wasm_v128_store(o + j, wasm_f32x4_add(wasm_v128_load(xr + j), wasm_v128_load(b + j)));
      for (int32_t j = c4; j < c; j++) o[j] = xr[j] + b[j];
    }
    return;
  }
  /* c % 4 != 0: the row's last 4 channels as one more chunk overlapping the one before (same sums stored twice) */
  const v128_t bt = wasm_v128_load(b + c - 4);
  for (int32_t r = r_begin; r < r_end; r++) {
    const f32 *xr = x + (int64_t)r * c;
    f32 *o = out + (int64_t)r * c;
    for (int32_t j = 0; j < c4; j += 4) wasm_v128_store(o + j, wasm_f32x4_add(wasm_v128_load(xr + j), wasm_v128_load(b + j)));
    wasm_v128_store(o + c - 4, wasm_f32x4_add(wasm_v128_load(xr + c - 4), bt));
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

/*
 * Small element-wise ops that tfjs's wasm backend hands to XNNPACK, whose 2-thread pool costs a fixed
 * ~0.27 ms per op however small (backends/smallOps.ts). These run inline on the calling thread.
 */

/* out[i] = f(x[i]) for i < n: op 0 relu (x < 0 ? 0 : x, NaN kept), 1 relu6, 2 neg, 3 abs, 4 square. */
__attribute__((always_inline)) static inline v128_t unary4(int32_t op, v128_t x) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  switch (op) {
    case 0: return wasm_v128_bitselect(zero, x, wasm_f32x4_lt(x, zero));
    case 1: {
      const v128_t six = wasm_f32x4_splat(6.0f);
      const v128_t r = wasm_v128_bitselect(zero, x, wasm_f32x4_lt(x, zero));
      return wasm_v128_bitselect(six, r, wasm_f32x4_gt(r, six));
    }
    case 2: return wasm_f32x4_neg(x);
    case 3: return wasm_f32x4_abs(x);
    default: return wasm_f32x4_mul(x, x);
  }
}

/* The loop once per op (a switch inside the loop costs up to 1.4x on small tensors). */
#define UNARY_LOOP(OP)                                                                                           \
  for (int32_t i = 0; i < n4; i += 4) wasm_v128_store(out + i, unary4(OP, wasm_v128_load(x + i)));              \
  for (int32_t i = n4; i < n; i++) out[i] = wasm_f32x4_extract_lane(unary4(OP, wasm_f32x4_splat(x[i])), 0);     \
  return;

__attribute__((export_name("ew_unary")))
void ew_unary(const f32 *x, f32 *out, int32_t op, int32_t n) {
  const int32_t n4 = n & ~3;
  switch (op) {
    case 0: UNARY_LOOP(0)
    case 1: UNARY_LOOP(1)
    case 2: UNARY_LOOP(2)
    case 3: UNARY_LOOP(3)
    default: UNARY_LOOP(4)
  }
}

/* op 0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 minimum (NaN wins, as Math.max on tfjs's cpu backend), 6 squared difference. */
__attribute__((always_inline)) static inline v128_t binary4(int32_t op, v128_t a, v128_t b) {
  switch (op) {
    case 0: return wasm_f32x4_add(a, b);
    case 1: return wasm_f32x4_sub(a, b);
    case 2: return wasm_f32x4_mul(a, b);
    case 3: return wasm_f32x4_div(a, b);
    case 4: return wasm_f32x4_max(a, b);
    case 5: return wasm_f32x4_min(a, b);
    default: {
      /* (a - b)^2 in double, rounded once, as tfjs's cpu backend computes it (float32 rounds twice: 2 ulps off). */
      const v128_t lo = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(a), wasm_f64x2_promote_low_f32x4(b));
      const v128_t hi = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(a, a, 2, 3, 0, 1)),
                                       wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(b, b, 2, 3, 0, 1)));
      const v128_t l = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(lo, lo));
      const v128_t h = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(hi, hi));
      return wasm_i32x4_shuffle(l, h, 0, 1, 4, 5);
    }
  }
}

/* One output row of ew_binary_bcast, once per op (see UNARY_LOOP). */
#define BINARY_ROW(OP)                                                                                                    \
  if (sa3 && sb3) {                                                                                                       \
    for (int32_t j = 0; j < n4; j += 4) wasm_v128_store(o + j, binary4(OP, wasm_v128_load(pa + j), wasm_v128_load(pb + j))); \
    for (int32_t j = n4; j < d3; j++) o[j] = wasm_f32x4_extract_lane(binary4(OP, wasm_f32x4_splat(pa[j]), wasm_f32x4_splat(pb[j])), 0); \
  } else if (sa3) {                                                                                                       \
    const v128_t vb = wasm_f32x4_splat(pb[0]);                                                                            \
    for (int32_t j = 0; j < n4; j += 4) wasm_v128_store(o + j, binary4(OP, wasm_v128_load(pa + j), vb));                 \
    for (int32_t j = n4; j < d3; j++) o[j] = wasm_f32x4_extract_lane(binary4(OP, wasm_f32x4_splat(pa[j]), vb), 0);        \
  } else if (sb3) {                                                                                                       \
    const v128_t va = wasm_f32x4_splat(pa[0]);                                                                            \
    for (int32_t j = 0; j < n4; j += 4) wasm_v128_store(o + j, binary4(OP, va, wasm_v128_load(pb + j)));                 \
    for (int32_t j = n4; j < d3; j++) o[j] = wasm_f32x4_extract_lane(binary4(OP, va, wasm_f32x4_splat(pb[j])), 0);        \
  } else {                                                                                                                \
    const f32 v = wasm_f32x4_extract_lane(binary4(OP, wasm_f32x4_splat(pa[0]), wasm_f32x4_splat(pb[0])), 0);             \
    for (int32_t j = 0; j < d3; j++) o[j] = v;                                                                            \
  }                                                                                                                       \
  break;

/*
 * out = a (op) b with numpy broadcasting, collapsed by the caller to 4 dims d0..d3 (out contiguous
 * [d0, d1, d2, d3]; a's element (i0, i1, i2, i3) at i0*sa0 + i1*sa1 + i2*sa2 + i3*sa3, stride 0 where a
 * broadcasts, sa3 and sb3 each 0 or 1; same for b). Rows (i0, i1, i2) in [r_begin, r_end).
 */
__attribute__((export_name("ew_binary_bcast")))
void ew_binary_bcast(const f32 *a, const f32 *b, f32 *out, int32_t op, int32_t d1, int32_t d2, int32_t d3,
                     int32_t sa0, int32_t sa1, int32_t sa2, int32_t sa3, int32_t sb0, int32_t sb1, int32_t sb2, int32_t sb3,
                     int32_t r_begin, int32_t r_end) {
  if (r_begin >= r_end) return;
  int32_t i2 = r_begin % d2, t = r_begin / d2;
  int32_t i1 = t % d1, i0 = t / d1;
  const int32_t n4 = d3 & ~3;
  for (int32_t r = r_begin; r < r_end; r++) {
    const f32 *pa = a + (int64_t)i0 * sa0 + (int64_t)i1 * sa1 + (int64_t)i2 * sa2;
    const f32 *pb = b + (int64_t)i0 * sb0 + (int64_t)i1 * sb1 + (int64_t)i2 * sb2;
    f32 *o = out + (int64_t)r * d3;
    switch (op) {
      case 0: BINARY_ROW(0)
      case 1: BINARY_ROW(1)
      case 2: BINARY_ROW(2)
      case 3: BINARY_ROW(3)
      case 4: BINARY_ROW(4)
      case 5: BINARY_ROW(5)
      default: BINARY_ROW(6)
    }
    if (++i2 == d2) {
      i2 = 0;
      if (++i1 == d1) {
        i1 = 0;
        i0++;
      }
    }
  }
}

/* ew_relu_grad_bias's periods with the NV = L / 4 lane sums in registers (NV <= 8; a memory sum per lane was a
   store-to-load chain every NV vectors); folds them into part[L, 2L) every 256 periods. Returns the floats done. */
__attribute__((always_inline)) static inline int64_t relu_grad_bias_regs(const f32 *y, const f32 *dy, f32 *dz, f32 *part, int64_t periods,
                                                                       const int32_t NV) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  v128_t a[8];
#pragma clang loop unroll(full)
  for (int32_t q = 0; q < NV; q++) a[q] = zero;
  int64_t j = 0;
  int32_t inblock = 0;
  for (int64_t p = 0; p < periods; p++) {
#pragma clang loop unroll(full)
    for (int32_t q = 0; q < NV; q++, j += 4) {
      const v128_t v = wasm_f32x4_mul(wasm_v128_load(dy + j), relu_step4(wasm_v128_load(y + j)));
      wasm_v128_store(dz + j, v);
      a[q] = wasm_f32x4_add(a[q], v);
    }
    if (++inblock == 256) {
#pragma clang loop unroll(full)
      for (int32_t q = 0; q < NV; q++) {
        wasm_v128_store(part + 4 * NV + 4 * q, wasm_f32x4_add(wasm_v128_load(part + 4 * NV + 4 * q), a[q]));
        a[q] = zero;
      }
      inblock = 0;
    }
  }
#pragma clang loop unroll(full)
  for (int32_t q = 0; q < NV; q++) wasm_v128_store(part + 4 * NV + 4 * q, wasm_f32x4_add(wasm_v128_load(part + 4 * NV + 4 * q), a[q]));
  return j;
}

/*
 * ReLU's gradient and the bias's gradient of a Conv2D(relu) layer in one pass (the fused training op,
 * backends/convFusedTraining.ts): dz = dy * (y > 0) (NaN where y is NaN, as relu_grad), and
 * db[ch] = sum of dz over the rows of [rows, c]. The flat run is read in periods of L = lcm(c, 4)
 * floats so that lane k of the period always holds channel k % c; per-lane sums go to part[0, L) for
 * 256 periods at a time, then into part[L, 2L) (float32 partial sums: error ~ (256 + n / 256L) ulp,
 * not n). part: 2L floats of scratch; db: c floats.
 */
__attribute__((export_name("ew_relu_grad_bias")))
void ew_relu_grad_bias(const f32 *y, const f32 *dy, f32 *dz, f32 *db, f32 *part, int32_t c, int32_t rows) {
  const int32_t L = (c & 3) == 0 ? c : (c & 1) == 0 ? 2 * c : 4 * c;
  const int64_t n = (int64_t)rows * c, periods = n / L;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int32_t k = 0; k < 2 * L; k += 4) wasm_v128_store(part + k, zero);
  int64_t j = 0;
  switch (L >> 2) {
    case 1: j = relu_grad_bias_regs(y, dy, dz, part, periods, 1); break;
    case 2: j = relu_grad_bias_regs(y, dy, dz, part, periods, 2); break;
    case 3: j = relu_grad_bias_regs(y, dy, dz, part, periods, 3); break;
    case 4: j = relu_grad_bias_regs(y, dy, dz, part, periods, 4); break;
    case 5: j = relu_grad_bias_regs(y, dy, dz, part, periods, 5); break;
    case 6: j = relu_grad_bias_regs(y, dy, dz, part, periods, 6); break;
    case 7: j = relu_grad_bias_regs(y, dy, dz, part, periods, 7); break;
    case 8: j = relu_grad_bias_regs(y, dy, dz, part, periods, 8); break;
    default: {
      /* Wide periods (L > 32): each lane's sum is revisited only every L / 4 vectors. */
      int32_t inblock = 0;
      for (int64_t p = 0; p < periods; p++) {
        for (int32_t k = 0; k < L; k += 4, j += 4) {
          const v128_t v = wasm_f32x4_mul(wasm_v128_load(dy + j), relu_step4(wasm_v128_load(y + j)));
          wasm_v128_store(dz + j, v);
          wasm_v128_store(part + k, wasm_f32x4_add(wasm_v128_load(part + k), v));
        }
        if (++inblock == 256) {
          for (int32_t k = 0; k < L; k += 4) {
            wasm_v128_store(part + L + k, wasm_f32x4_add(wasm_v128_load(part + L + k), wasm_v128_load(part + k)));
            wasm_v128_store(part + k, zero);
          }
          inblock = 0;
        }
      }
      for (int32_t k = 0; k < L; k += 4) wasm_v128_store(part + L + k, wasm_f32x4_add(wasm_v128_load(part + L + k), wasm_v128_load(part + k)));
    }
  }
  for (; j < n; j++) {
    const f32 v = dy[j] * relu_step1(y[j]);
    dz[j] = v;
    part[L + (int32_t)(j % L)] += v;
  }
  for (int32_t ch = 0; ch < c; ch++) db[ch] = 0.0f;
  for (int32_t k = 0; k < L; k++) db[k % c] += part[L + k];
}
