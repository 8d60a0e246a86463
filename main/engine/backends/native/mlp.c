/*
 * The fast dense-network loop's matrix products and Adam update (main/engine/training/fastMlp.ts), in
 * wasm: the same arithmetic as its JavaScript loops, operation for operation, so that a training step
 * gives bit-for-bit the same weights. Products of float32 values accumulate in float64 (as the JS
 * loops do, in the same order: k ascending for each output), then round to float32 where the JS rounds.
 * Two float64 lanes (f64x2) carry two output columns at a time: each lane does exactly the scalar
 * operations (no FMA: this file has no relaxed-SIMD build).
 *
 * fastMlp.ts instantiates this module on a memory of its own (sized for the net, never grown), so the
 * loop runs compiled code from its first step on (Liftoff), where the JavaScript loops run in V8's
 * interpreter until they are optimised. index.ts also loads it on tfjs's heap like every module (unused
 * there). Rules as in kernels.c: leaf functions, no statics, no stack arrays; writes only to the
 * outputs the caller allocated.
 */
#include "simd.h"

typedef double f64;

/*
 * out[n × out_w] = a[n × in_w] · w[in_w × out_w] + b (b 0: none), rounded to float32 as the JS stores
 * it: (float)((double)(float)s + b), then relu (0 where !(v > 0)) when `relu`. 4 rows × 4 columns
 * per pass; edges one by one. Same results as fastMlp.ts's denseForward.
 */
__attribute__((export_name("mlp_dense_forward")))
void mlp_dense_forward(const f32 *a, int32_t n, int32_t in_w, const f32 *w, const f32 *b, f32 *out, int32_t out_w, int32_t relu) {
  const int32_t n4 = n - (n % 4);
  const int32_t o4 = out_w - (out_w % 4);
  const v128_t zero = wasm_f64x2_splat(0.0);
  for (int32_t i = 0; i < n4; i += 4) {
    const f32 *r0 = a + (int64_t)i * in_w;
    const f32 *r1 = r0 + in_w;
    const f32 *r2 = r1 + in_w;
    const f32 *r3 = r2 + in_w;
    for (int32_t j = 0; j < o4; j += 4) {
      v128_t s00 = zero, s02 = zero, s10 = zero, s12 = zero, s20 = zero, s22 = zero, s30 = zero, s32 = zero;
      const f32 *wk = w + j;
      for (int32_t k = 0; k < in_w; k++, wk += out_w) {
        const v128_t w4 = wasm_v128_load(wk);
        const v128_t w01 = wasm_f64x2_promote_low_f32x4(w4);
        const v128_t w23 = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(w4, w4, 2, 3, 2, 3));
        v128_t x = wasm_f64x2_splat((f64)r0[k]);
        s00 = wasm_f64x2_add(s00, wasm_f64x2_mul(x, w01));
        s02 = wasm_f64x2_add(s02, wasm_f64x2_mul(x, w23));
        x = wasm_f64x2_splat((f64)r1[k]);
        s10 = wasm_f64x2_add(s10, wasm_f64x2_mul(x, w01));
        s12 = wasm_f64x2_add(s12, wasm_f64x2_mul(x, w23));
        x = wasm_f64x2_splat((f64)r2[k]);
        s20 = wasm_f64x2_add(s20, wasm_f64x2_mul(x, w01));
        s22 = wasm_f64x2_add(s22, wasm_f64x2_mul(x, w23));
        x = wasm_f64x2_splat((f64)r3[k]);
        s30 = wasm_f64x2_add(s30, wasm_f64x2_mul(x, w01));
        s32 = wasm_f64x2_add(s32, wasm_f64x2_mul(x, w23));
      }
      v128_t b01 = zero, b23 = zero;
      if (b) {
        const v128_t b4 = wasm_v128_load(b + j);
        b01 = wasm_f64x2_promote_low_f32x4(b4);
        b23 = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(b4, b4, 2, 3, 2, 3));
      }
#define LF_STORE_ROW(lo, hi, row)                                                                          \
  do {                                                                                                     \
    /* (double)(float)s + b, per lane; relu: 0 unless > 0 (NaN too); then float32. */                       \
    v128_t vlo = wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(wasm_f32x4_demote_f64x2_zero(lo)), b01);     \
    v128_t vhi = wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(wasm_f32x4_demote_f64x2_zero(hi)), b23);     \
    if (relu) {                                                                                            \
      vlo = wasm_v128_and(vlo, wasm_f64x2_gt(vlo, zero));                                                  \
      vhi = wasm_v128_and(vhi, wasm_f64x2_gt(vhi, zero));                                                  \
    }                                                                                                      \
    const v128_t flo = wasm_f32x4_demote_f64x2_zero(vlo);                                                  \
    const v128_t fhi = wasm_f32x4_demote_f64x2_zero(vhi);                                                  \
    wasm_v128_store(out + (int64_t)(row) * out_w + j, wasm_i32x4_shuffle(flo, fhi, 0, 1, 4, 5));          \
  } while (0)
      LF_STORE_ROW(s00, s02, i);
      LF_STORE_ROW(s10, s12, i + 1);
      LF_STORE_ROW(s20, s22, i + 2);
      LF_STORE_ROW(s30, s32, i + 3);
#undef LF_STORE_ROW
    }
    for (int32_t j = o4; j < out_w; j++) {
      f64 s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      const f32 *wk = w + j;
      for (int32_t k = 0; k < in_w; k++, wk += out_w) {
        const f64 wv = (f64)*wk;
        s0 += (f64)r0[k] * wv;
        s1 += (f64)r1[k] * wv;
        s2 += (f64)r2[k] * wv;
        s3 += (f64)r3[k] * wv;
      }
      const f64 bj = b ? (f64)b[j] : 0.0;
      f64 v0 = (f64)(f32)s0 + bj, v1 = (f64)(f32)s1 + bj, v2 = (f64)(f32)s2 + bj, v3 = (f64)(f32)s3 + bj;
      if (relu) {
        v0 = v0 > 0 ? v0 : 0.0;
        v1 = v1 > 0 ? v1 : 0.0;
        v2 = v2 > 0 ? v2 : 0.0;
        v3 = v3 > 0 ? v3 : 0.0;
      }
      f32 *o = out + (int64_t)i * out_w + j;
      o[0] = (f32)v0;
      o[out_w] = (f32)v1;
      o[2 * out_w] = (f32)v2;
      o[3 * out_w] = (f32)v3;
    }
  }
  for (int32_t i = n4; i < n; i++) {
    const f32 *r0 = a + (int64_t)i * in_w;
    for (int32_t j = 0; j < out_w; j++) {
      f64 s = 0;
      for (int32_t k = 0; k < in_w; k++) s += (f64)r0[k] * (f64)w[(int64_t)k * out_w + j];
      f64 v = (f64)(f32)s + (b ? (f64)b[j] : 0.0);
      if (relu) v = v > 0 ? v : 0.0;
      out[(int64_t)i * out_w + j] = (f32)v;
    }
  }
}

/*
 * gw[in_w × out_w] = aᵀ · g (float64 sums over the batch rows, rows ascending). 4 kernel rows × 4
 * columns per pass; edges one by one. Same results as fastMlp.ts's denseGrads.
 */
__attribute__((export_name("mlp_dense_grads")))
void mlp_dense_grads(const f32 *a, const f64 *g, int32_t n, int32_t in_w, int32_t out_w, f64 *gw) {
  const int32_t k4 = in_w - (in_w % 4);
  const int32_t o4 = out_w - (out_w % 4);
  const v128_t zero = wasm_f64x2_splat(0.0);
  for (int32_t k = 0; k < k4; k += 4) {
    for (int32_t j = 0; j < o4; j += 4) {
      v128_t s00 = zero, s02 = zero, s10 = zero, s12 = zero, s20 = zero, s22 = zero, s30 = zero, s32 = zero;
      const f32 *ai = a + k;
      const f64 *gi = g + j;
      for (int32_t i = 0; i < n; i++, ai += in_w, gi += out_w) {
        const v128_t g01 = wasm_v128_load(gi);
        const v128_t g23 = wasm_v128_load(gi + 2);
        v128_t x = wasm_f64x2_splat((f64)ai[0]);
        s00 = wasm_f64x2_add(s00, wasm_f64x2_mul(x, g01));
        s02 = wasm_f64x2_add(s02, wasm_f64x2_mul(x, g23));
        x = wasm_f64x2_splat((f64)ai[1]);
        s10 = wasm_f64x2_add(s10, wasm_f64x2_mul(x, g01));
        s12 = wasm_f64x2_add(s12, wasm_f64x2_mul(x, g23));
        x = wasm_f64x2_splat((f64)ai[2]);
        s20 = wasm_f64x2_add(s20, wasm_f64x2_mul(x, g01));
        s22 = wasm_f64x2_add(s22, wasm_f64x2_mul(x, g23));
        x = wasm_f64x2_splat((f64)ai[3]);
        s30 = wasm_f64x2_add(s30, wasm_f64x2_mul(x, g01));
        s32 = wasm_f64x2_add(s32, wasm_f64x2_mul(x, g23));
      }
      f64 *r = gw + (int64_t)k * out_w + j;
      wasm_v128_store(r, s00);
      wasm_v128_store(r + 2, s02);
      r += out_w;
      wasm_v128_store(r, s10);
      wasm_v128_store(r + 2, s12);
      r += out_w;
      wasm_v128_store(r, s20);
      wasm_v128_store(r + 2, s22);
      r += out_w;
      wasm_v128_store(r, s30);
      wasm_v128_store(r + 2, s32);
    }
    for (int32_t j = o4; j < out_w; j++) {
      f64 s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      const f32 *ai = a + k;
      const f64 *gi = g + j;
      for (int32_t i = 0; i < n; i++, ai += in_w, gi += out_w) {
        const f64 gv = *gi;
        s0 += (f64)ai[0] * gv;
        s1 += (f64)ai[1] * gv;
        s2 += (f64)ai[2] * gv;
        s3 += (f64)ai[3] * gv;
      }
      f64 *r = gw + (int64_t)k * out_w + j;
      r[0] = s0;
      r[out_w] = s1;
      r[2 * out_w] = s2;
      r[3 * out_w] = s3;
    }
  }
  for (int32_t k = k4; k < in_w; k++) {
    for (int32_t j = 0; j < out_w; j++) {
      f64 s = 0;
      for (int32_t i = 0; i < n; i++) s += (f64)a[(int64_t)i * in_w + k] * g[(int64_t)i * out_w + j];
      gw[(int64_t)k * out_w + j] = s;
    }
  }
}

/* gb[out_w] = column sums of g (n × out_w), rows ascending, from 0 (fastMlp.ts's biasGrads). */
__attribute__((export_name("mlp_bias_grads")))
void mlp_bias_grads(const f64 *g, int32_t n, int32_t out_w, f64 *gb) {
  for (int32_t j = 0; j < out_w; j++) gb[j] = 0.0;
  for (int32_t i = 0; i < n; i++) {
    const f64 *gi = g + (int64_t)i * out_w;
    for (int32_t j = 0; j < out_w; j++) gb[j] = gb[j] + gi[j];
  }
}

/*
 * g_in[n × in_w] = g · wᵀ (float64), with the gradient of a relu before this layer applied as each value
 * is stored when `gate` (that relu's output) is given: 0 where !(gate > 0). 4 batch rows × 4 kernel rows
 * per pass (sums over the outputs, ascending); edges one by one. fastMlp.ts's denseInputGrad.
 */
__attribute__((export_name("mlp_dense_input_grad")))
void mlp_dense_input_grad(const f64 *g, const f32 *w, int32_t n, int32_t in_w, int32_t out_w, f64 *g_in, const f32 *gate) {
  const int32_t n4 = n - (n % 4);
  const int32_t k4 = in_w - (in_w % 4);
  for (int32_t i = 0; i < n4; i += 4) {
    const f64 *g0 = g + (int64_t)i * out_w;
    const f64 *g1 = g0 + out_w;
    const f64 *g2 = g1 + out_w;
    const f64 *g3 = g2 + out_w;
    for (int32_t k = 0; k < k4; k += 4) {
      const f32 *w0 = w + (int64_t)k * out_w;
      const f32 *w1 = w0 + out_w;
      const f32 *w2 = w1 + out_w;
      const f32 *w3 = w2 + out_w;
      /* Lanes: (k, k+1) and (k+2, k+3) of each batch row. */
      v128_t s00 = wasm_f64x2_splat(0.0), s02 = s00, s10 = s00, s12 = s00, s20 = s00, s22 = s00, s30 = s00, s32 = s00;
      for (int32_t j = 0; j < out_w; j++) {
        const v128_t w01 = wasm_f64x2_make((f64)w0[j], (f64)w1[j]);
        const v128_t w23 = wasm_f64x2_make((f64)w2[j], (f64)w3[j]);
        v128_t x = wasm_f64x2_splat(g0[j]);
        s00 = wasm_f64x2_add(s00, wasm_f64x2_mul(x, w01));
        s02 = wasm_f64x2_add(s02, wasm_f64x2_mul(x, w23));
        x = wasm_f64x2_splat(g1[j]);
        s10 = wasm_f64x2_add(s10, wasm_f64x2_mul(x, w01));
        s12 = wasm_f64x2_add(s12, wasm_f64x2_mul(x, w23));
        x = wasm_f64x2_splat(g2[j]);
        s20 = wasm_f64x2_add(s20, wasm_f64x2_mul(x, w01));
        s22 = wasm_f64x2_add(s22, wasm_f64x2_mul(x, w23));
        x = wasm_f64x2_splat(g3[j]);
        s30 = wasm_f64x2_add(s30, wasm_f64x2_mul(x, w01));
        s32 = wasm_f64x2_add(s32, wasm_f64x2_mul(x, w23));
      }
#define LF_STORE_ROW(lo, hi, row)                                                                        \
  do {                                                                                                   \
    f64 *o = g_in + (int64_t)(row) * in_w + k;                                                           \
    v128_t vlo = lo, vhi = hi;                                                                           \
    if (gate) {                                                                                          \
      const v128_t g4 = wasm_v128_load(gate + (int64_t)(row) * in_w + k);                                \
      const v128_t zero = wasm_f64x2_splat(0.0);                                                         \
      vlo = wasm_v128_and(vlo, wasm_f64x2_gt(wasm_f64x2_promote_low_f32x4(g4), zero));                   \
      vhi = wasm_v128_and(vhi, wasm_f64x2_gt(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(g4, g4, 2, 3, 2, 3)), zero)); \
    }                                                                                                    \
    wasm_v128_store(o, vlo);                                                                             \
    wasm_v128_store(o + 2, vhi);                                                                         \
  } while (0)
      LF_STORE_ROW(s00, s02, i);
      LF_STORE_ROW(s10, s12, i + 1);
      LF_STORE_ROW(s20, s22, i + 2);
      LF_STORE_ROW(s30, s32, i + 3);
#undef LF_STORE_ROW
    }
    for (int32_t k = k4; k < in_w; k++) {
      const f32 *wr = w + (int64_t)k * out_w;
      f64 s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int32_t j = 0; j < out_w; j++) {
        const f64 wv = (f64)wr[j];
        s0 += g0[j] * wv;
        s1 += g1[j] * wv;
        s2 += g2[j] * wv;
        s3 += g3[j] * wv;
      }
      const int64_t o = (int64_t)i * in_w + k;
      g_in[o] = gate && !(gate[o] > 0) ? 0.0 : s0;
      g_in[o + in_w] = gate && !(gate[o + in_w] > 0) ? 0.0 : s1;
      g_in[o + 2 * in_w] = gate && !(gate[o + 2 * in_w] > 0) ? 0.0 : s2;
      g_in[o + 3 * in_w] = gate && !(gate[o + 3 * in_w] > 0) ? 0.0 : s3;
    }
  }
  for (int32_t i = n4; i < n; i++) {
    const f64 *gr = g + (int64_t)i * out_w;
    for (int32_t k = 0; k < in_w; k++) {
      const f32 *wr = w + (int64_t)k * out_w;
      f64 s = 0;
      for (int32_t j = 0; j < out_w; j++) s += gr[j] * (f64)wr[j];
      const int64_t o = (int64_t)i * in_w + k;
      g_in[o] = gate && !(gate[o] > 0) ? 0.0 : s;
    }
  }
}

/*
 * Adam in one pass (fastMlp.ts's adamUpdate): m = (float)(s1·b1 + g·ob1), v = (float)(s2·b2 + g·g·ob2)
 * in float64, then w = (float)(w + (m·k1) / (sqrt(v·k2) + eps)).
 */
__attribute__((export_name("mlp_adam_update")))
void mlp_adam_update(f32 *w, const f64 *g, f32 *s1, f32 *s2, int32_t len, f64 b1, f64 ob1, f64 b2, f64 ob2, f64 k1, f64 k2, f64 eps) {
  for (int32_t j = 0; j < len; j++) {
    const f64 gj = g[j];
    const f64 m = (f64)(f32)((f64)s1[j] * b1 + gj * ob1);
    const f64 v = (f64)(f32)((f64)s2[j] * b2 + gj * gj * ob2);
    s1[j] = (f32)m;
    s2[j] = (f32)v;
    w[j] = (f32)((f64)w[j] + (m * k1) / (__builtin_sqrt(v * k2) + eps));
  }
}
