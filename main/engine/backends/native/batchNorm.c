/*
 * BatchNormalization in training: batch statistics in one pass and the fused backward (dx, dγ, dβ).
 * Same rules as kernels.c: stack-free leaf functions on heap offsets, no data, no calls (build.mjs checks).
 * Export names must be unique across the native C files (here: bn_*).
 *
 * x is [rows, c] (NHWC or [N, C] flattened: the channel is the last axis). Statistics per channel:
 *   mean = Σx / n,  var = Σ(x − mean)² / n   (biased, as tf.moments and tfjs's layer)
 * computed in ONE pass over memory: per block of BN_BLOCK rows (in L1 cache) a float32 mean and
 * Σ(x − block mean)² in registers, merged into float64 running mean and M2 (Chan et al.'s pairwise
 * update), so the result does not depend on how large the mean is against the spread, nor on n.
 * Threads split the rows; each has its own float64 statistics (acc, 2c doubles), merged by the finish step.
 *
 * Backward, with x̂ = (x − mean)·rstd, rstd = 1/sqrt(var + eps):
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·rstd·(dy − dβ/n − x̂·dγ/n)
 * pass 1: the per-channel sums Σdy and Σdy·(x − mean) (float32 per block of rows, float64 across
 * blocks), pass 2: dx as
 *   dx = A·dy + B·(x − mean) + C with per-channel A = γ·rstd, B = −A·rstd·dγ/n, C = −A·dβ/n.
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef float f32;
typedef double f64;

#define BN_BLOCK 32

/* acc[0..1] += lanes 0,1 of v and acc[2..3] += lanes 2,3 (float64). */
__attribute__((always_inline)) static inline void bn_flush4(f64 *acc, v128_t v) {
  wasm_v128_store(acc, wasm_f64x2_add(wasm_v128_load(acc), wasm_f64x2_promote_low_f32x4(v)));
  wasm_v128_store(acc + 2, wasm_f64x2_add(wasm_v128_load(acc + 2), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3))));
}

/* Two float64 lanes of the running (mean, M2) merged with a block's (mb, qb): Chan et al.'s pairwise update. */
__attribute__((always_inline)) static inline void bn_merge2(f64 *mean, f64 *m2, v128_t mb, v128_t qb, v128_t w, v128_t w2) {
  const v128_t m = wasm_v128_load(mean);
  const v128_t delta = wasm_f64x2_sub(mb, m);
  wasm_v128_store(mean, wasm_f64x2_add(m, wasm_f64x2_mul(delta, w)));
  wasm_v128_store(m2, wasm_f64x2_add(wasm_v128_load(m2), wasm_f64x2_add(qb, wasm_f64x2_mul(wasm_f64x2_mul(delta, delta), w2))));
}

/* Four channels' running statistics merged with a block's float32 mean and M2. */
__attribute__((always_inline)) static inline void bn_merge4(f64 *mean, f64 *m2, v128_t mb, v128_t qb, v128_t w, v128_t w2) {
  bn_merge2(mean, m2, wasm_f64x2_promote_low_f32x4(mb), wasm_f64x2_promote_low_f32x4(qb), w, w2);
  bn_merge2(mean + 2, m2 + 2, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(mb, mb, 2, 3, 2, 3)),
            wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(qb, qb, 2, 3, 2, 3)), w, w2);
}

/*
 * Per-channel mean and M2 = Σ(x − mean)² over rows [row_begin, row_end), into acc (float64: mean[c],
 * then M2[c]; cleared here first). One pass over memory: each block of BN_BLOCK rows (in L1) is read
 * twice, its float32 mean first, then its float32 Σ(x − block mean)², and merged into the float64
 * running statistics (Chan's update), so neither a large mean nor a large batch costs digits.
 */
__attribute__((export_name("bn_stats")))
void bn_stats(const f32 *x, f64 *acc, int32_t c, int32_t row_begin, int32_t row_end) {
  f64 *mean = acc, *m2 = acc + c;
  __builtin_memset(acc, 0, (unsigned long)(2 * c) * sizeof(f64));
  const int32_t c16 = c & ~15, c4 = c & ~3;
  int32_t na = 0;
  for (int32_t r0 = row_begin; r0 < row_end; r0 += BN_BLOCK) {
    const int32_t r1 = r0 + BN_BLOCK < row_end ? r0 + BN_BLOCK : row_end, nb = r1 - r0;
    const f32 inv_nb = 1.0f / (f32)nb;
    const f64 n = (f64)(na + nb);
    const f64 ws = (f64)nb / n, ws2 = (f64)na * (f64)nb / n;
    const v128_t w = wasm_f64x2_splat(ws), w2 = wasm_f64x2_splat(ws2), vinv = wasm_f32x4_splat(inv_nb);
    int32_t j = 0;
    for (; j < c16; j += 16) {
      const f32 *p0 = x + (int64_t)r0 * c + j, *p;
      v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
      p = p0;
      for (int32_t r = r0; r < r1; r++, p += c) {
        a0 = wasm_f32x4_add(a0, wasm_v128_load(p)); a1 = wasm_f32x4_add(a1, wasm_v128_load(p + 4));
        a2 = wasm_f32x4_add(a2, wasm_v128_load(p + 8)); a3 = wasm_f32x4_add(a3, wasm_v128_load(p + 12));
      }
      a0 = wasm_f32x4_mul(a0, vinv); a1 = wasm_f32x4_mul(a1, vinv); a2 = wasm_f32x4_mul(a2, vinv); a3 = wasm_f32x4_mul(a3, vinv);
      v128_t q0 = wasm_f32x4_splat(0.0f), q1 = q0, q2 = q0, q3 = q0;
      p = p0;
      for (int32_t r = r0; r < r1; r++, p += c) {
        const v128_t d0 = wasm_f32x4_sub(wasm_v128_load(p), a0), d1 = wasm_f32x4_sub(wasm_v128_load(p + 4), a1);
        const v128_t d2 = wasm_f32x4_sub(wasm_v128_load(p + 8), a2), d3 = wasm_f32x4_sub(wasm_v128_load(p + 12), a3);
        q0 = wasm_f32x4_add(q0, wasm_f32x4_mul(d0, d0)); q1 = wasm_f32x4_add(q1, wasm_f32x4_mul(d1, d1));
        q2 = wasm_f32x4_add(q2, wasm_f32x4_mul(d2, d2)); q3 = wasm_f32x4_add(q3, wasm_f32x4_mul(d3, d3));
      }
      bn_merge4(mean + j, m2 + j, a0, q0, w, w2); bn_merge4(mean + j + 4, m2 + j + 4, a1, q1, w, w2);
      bn_merge4(mean + j + 8, m2 + j + 8, a2, q2, w, w2); bn_merge4(mean + j + 12, m2 + j + 12, a3, q3, w, w2);
    }
    for (; j < c4; j += 4) {
      const f32 *p0 = x + (int64_t)r0 * c + j, *p;
      v128_t a0 = wasm_f32x4_splat(0.0f), q0 = a0;
      p = p0;
      for (int32_t r = r0; r < r1; r++, p += c) a0 = wasm_f32x4_add(a0, wasm_v128_load(p));
      a0 = wasm_f32x4_mul(a0, vinv);
      p = p0;
      for (int32_t r = r0; r < r1; r++, p += c) {
        const v128_t d0 = wasm_f32x4_sub(wasm_v128_load(p), a0);
        q0 = wasm_f32x4_add(q0, wasm_f32x4_mul(d0, d0));
      }
      bn_merge4(mean + j, m2 + j, a0, q0, w, w2);
    }
    for (; j < c; j++) {
      const f32 *p0 = x + (int64_t)r0 * c + j, *p;
      f32 a = 0.0f, q = 0.0f;
      p = p0;
      for (int32_t r = r0; r < r1; r++, p += c) a += *p;
      a *= inv_nb;
      p = p0;
      for (int32_t r = r0; r < r1; r++, p += c) q += (*p - a) * (*p - a);
      const f64 delta = (f64)a - mean[j];
      mean[j] += delta * ws;
      m2[j] += (f64)q + delta * delta * ws2;
    }
    na += nb;
  }
}

/*
 * Merges the threads' statistics (acc0 over n0 rows; acc1 over n1 rows, 0 / 0 when one thread did
 * all rows) into mean and var = M2 / n (outputs, c floats) and the factors of the normalisation
 * y = (x − mean)·mul + bias: mul = γ·rstd, bias = β (γ / β 0 when absent: 1 / 0).
 */
__attribute__((export_name("bn_stats_finish")))
void bn_stats_finish(const f64 *acc0, const f64 *acc1, int32_t n0, int32_t n1, const f32 *gamma, const f32 *beta, f32 *mean, f32 *var,
                     f32 *mul, f32 *bias, int32_t c, f32 eps) {
  const f64 n = (f64)n0 + (f64)n1;
  for (int32_t j = 0; j < c; j++) {
    f64 mu = acc0[j], m2 = acc0[c + j];
    if (acc1 && n1 > 0) {
      const f64 delta = acc1[j] - mu;
      mu += delta * ((f64)n1 / n);
      m2 += acc1[c + j] + delta * delta * ((f64)n0 * (f64)n1 / n);
    }
    const f32 vf = (f32)(m2 / n);
    mean[j] = (f32)mu;
    var[j] = vf;
    mul[j] = (gamma ? gamma[j] : 1.0f) / __builtin_sqrtf(vf + eps);
    bias[j] = beta ? beta[j] : 0.0f;
  }
}

/* y[r][j] = (x[r][j] − mean[j])·mul[j] + bias[j] for rows [row_begin, row_end). */
__attribute__((export_name("bn_apply")))
void bn_apply(const f32 *x, const f32 *mean, const f32 *mul, const f32 *bias, f32 *y, int32_t c, int32_t row_begin, int32_t row_end) {
  const int32_t c4 = c & ~3;
  for (int32_t r = row_begin; r < row_end; r++) {
    const f32 *xr = x + (int64_t)r * c;
    f32 *yr = y + (int64_t)r * c;
    for (int32_t j = 0; j < c4; j += 4)
      wasm_v128_store(yr + j, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), wasm_v128_load(mean + j)), wasm_v128_load(mul + j)), wasm_v128_load(bias + j)));
    for (int32_t j = c4; j < c; j++) yr[j] = (xr[j] - mean[j]) * mul[j] + bias[j];
  }
}

/*
 * Backward pass 1 over rows [row_begin, row_end), into acc (cleared here first):
 * acc[j] = Σ dy[r][j] and acc[c + j] = Σ dy[r][j]·(x[r][j] − mean[j])  (float64).
 */
__attribute__((export_name("bn_grad_sums")))
void bn_grad_sums(const f32 *dy, const f32 *x, const f32 *mean, f64 *acc, int32_t c, int32_t row_begin, int32_t row_end) {
  f64 *s1 = acc, *s2 = acc + c;
  __builtin_memset(acc, 0, (unsigned long)(2 * c) * sizeof(f64));
  const int32_t c16 = c & ~15, c4 = c & ~3;
  for (int32_t r0 = row_begin; r0 < row_end; r0 += BN_BLOCK) {
    const int32_t r1 = r0 + BN_BLOCK < row_end ? r0 + BN_BLOCK : row_end;
    int32_t j = 0;
    for (; j < c16; j += 16) {
      const v128_t m0 = wasm_v128_load(mean + j), m1 = wasm_v128_load(mean + j + 4), m2 = wasm_v128_load(mean + j + 8), m3 = wasm_v128_load(mean + j + 12);
      v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, q0 = a0, q1 = a0, q2 = a0, q3 = a0;
      const int64_t o = (int64_t)r0 * c + j;
      const f32 *p = x + o, *g = dy + o;
      for (int32_t r = r0; r < r1; r++, p += c, g += c) {
        const v128_t g0 = wasm_v128_load(g), g1 = wasm_v128_load(g + 4), g2 = wasm_v128_load(g + 8), g3 = wasm_v128_load(g + 12);
        a0 = wasm_f32x4_add(a0, g0); q0 = wasm_f32x4_add(q0, wasm_f32x4_mul(g0, wasm_f32x4_sub(wasm_v128_load(p), m0)));
        a1 = wasm_f32x4_add(a1, g1); q1 = wasm_f32x4_add(q1, wasm_f32x4_mul(g1, wasm_f32x4_sub(wasm_v128_load(p + 4), m1)));
        a2 = wasm_f32x4_add(a2, g2); q2 = wasm_f32x4_add(q2, wasm_f32x4_mul(g2, wasm_f32x4_sub(wasm_v128_load(p + 8), m2)));
        a3 = wasm_f32x4_add(a3, g3); q3 = wasm_f32x4_add(q3, wasm_f32x4_mul(g3, wasm_f32x4_sub(wasm_v128_load(p + 12), m3)));
      }
      bn_flush4(s1 + j, a0); bn_flush4(s1 + j + 4, a1); bn_flush4(s1 + j + 8, a2); bn_flush4(s1 + j + 12, a3);
      bn_flush4(s2 + j, q0); bn_flush4(s2 + j + 4, q1); bn_flush4(s2 + j + 8, q2); bn_flush4(s2 + j + 12, q3);
    }
    for (; j < c4; j += 4) {
      const v128_t m0 = wasm_v128_load(mean + j);
      v128_t a0 = wasm_f32x4_splat(0.0f), q0 = a0;
      const int64_t o = (int64_t)r0 * c + j;
      const f32 *p = x + o, *g = dy + o;
      for (int32_t r = r0; r < r1; r++, p += c, g += c) {
        const v128_t g0 = wasm_v128_load(g);
        a0 = wasm_f32x4_add(a0, g0); q0 = wasm_f32x4_add(q0, wasm_f32x4_mul(g0, wasm_f32x4_sub(wasm_v128_load(p), m0)));
      }
      bn_flush4(s1 + j, a0); bn_flush4(s2 + j, q0);
    }
    for (; j < c; j++) {
      const f32 m = mean[j];
      f32 a = 0.0f, q = 0.0f;
      const int64_t o = (int64_t)r0 * c + j;
      const f32 *p = x + o, *g = dy + o;
      for (int32_t r = r0; r < r1; r++, p += c, g += c) {
        a += *g;
        q += *g * (*p - m);
      }
      s1[j] += a;
      s2[j] += q;
    }
  }
}

/*
 * Combines the threads' backward sums (acc1: 0 when one thread did all rows) into dγ, dβ (outputs, c
 * floats) and the per-channel factors of dx = A·dy + B·(x − mean) + C (coef: 3c floats A, B, C).
 */
__attribute__((export_name("bn_grad_finish")))
void bn_grad_finish(const f64 *acc0, const f64 *acc1, const f32 *var, const f32 *gamma, f32 *dgamma, f32 *dbeta, f32 *coef,
                    int32_t c, int32_t n, f32 eps) {
  const f64 inv_n = 1.0 / (f64)n;
  for (int32_t j = 0; j < c; j++) {
    const f64 sdy = acc0[j] + (acc1 ? acc1[j] : 0.0), sdyxc = acc0[c + j] + (acc1 ? acc1[c + j] : 0.0);
    const f32 rs = 1.0f / __builtin_sqrtf(var[j] + eps);
    const f64 a = (f64)(gamma ? gamma[j] : 1.0f) * rs;
    dbeta[j] = (f32)sdy;
    dgamma[j] = (f32)(sdyxc * rs);
    coef[j] = (f32)a;
    coef[c + j] = (f32)(-a * rs * rs * sdyxc * inv_n);
    coef[2 * c + j] = (f32)(-a * sdy * inv_n);
  }
}

/* dx[r][j] = A[j]·dy[r][j] + B[j]·(x[r][j] − mean[j]) + C[j] for rows [row_begin, row_end); coef: A, B, C (c floats each). */
__attribute__((export_name("bn_grad_dx")))
void bn_grad_dx(const f32 *dy, const f32 *x, const f32 *mean, const f32 *coef, f32 *dx, int32_t c, int32_t row_begin, int32_t row_end) {
  const f32 *ca = coef, *cb = coef + c, *cc = coef + 2 * c;
  const int32_t c4 = c & ~3;
  for (int32_t r = row_begin; r < row_end; r++) {
    const int64_t o = (int64_t)r * c;
    const f32 *xr = x + o, *gr = dy + o;
    f32 *dxr = dx + o;
    for (int32_t j = 0; j < c4; j += 4) {
      const v128_t t = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(ca + j), wasm_v128_load(gr + j)),
                                      wasm_f32x4_mul(wasm_v128_load(cb + j), wasm_f32x4_sub(wasm_v128_load(xr + j), wasm_v128_load(mean + j))));
      wasm_v128_store(dxr + j, wasm_f32x4_add(t, wasm_v128_load(cc + j)));
    }
    for (int32_t j = c4; j < c; j++) dxr[j] = ca[j] * gr[j] + cb[j] * (xr[j] - mean[j]) + cc[j];
  }
}
