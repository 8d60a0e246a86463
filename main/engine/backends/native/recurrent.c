/*
 * LSTM / GRU over a whole sequence: forward and backward through time.
 * Same rules as kernels.c: stack-free leaf functions on heap offsets, no data, no calls (build.mjs checks).
 * Export names must be unique across the native C files.
 *
 * The rows of a batch are independent through time, so one call runs every step for rows
 * [r0, r1): two threads split the batch and never wait on each other between steps. The input
 * projection x·W + b (all steps at once) and the weight gradients (dW, dU, db over all steps) are
 * plain GEMMs the caller runs; here are the recurrent product h·U (resp. dz·Uᵀ) and the gates.
 *
 * Layouts (float32, row-major): N rows, T steps, U units; "input time" t is the index of the step's
 * input in x, "processing order" s = t (forwards) or T-1-t (goBackwards), as tfjs's rnn() runs them.
 *   xw     [N, T, 4U]  x·W + b, input time; gates i, f, c, o in tfjs's LSTMCell order
 *   u      [U, 4U]     recurrent kernel;  ut [4U, U] its transpose (backward)
 *   h0, c0 [N, U]      initial state
 *   mask   [N, T]      0: the step is skipped (h and c carried, as tfjs's rnn() does), else kept; or 0 (none)
 *   hseq   [N, T, U]   h after each step, processing order (tfjs's per-step outputs)
 *   gates  [N, T, 4U]  activated gates i, f, g = tanh(z_c), o; input time
 *   cprev  [N, T, U]   c before the step; input time
 *   tanhc  [N, T, U]   tanh(c after the step); input time
 *   hprev  [N, T, U]   h before the step; input time (for dU = Σ hprevᵀ·dz, one GEMM)
 */
#include "simd.h"


#define V(x) wasm_f32x4_splat(x)

/* exp4, tanh4, sigmoid4, load_part / store_part, tile4x8: simd.h. */

/* The gate activation: 0 sigmoid 1/(1 + e^{-x}); 1 tfjs's hardSigmoid clip(0.2x + 0.5, 0, 1). */
__attribute__((always_inline)) static inline v128_t gate4(v128_t x, int32_t act) {
  if (act == 1) return wasm_f32x4_min(wasm_f32x4_max(wasm_f32x4_add(V(0.5f), wasm_f32x4_mul(V(0.2f), x)), V(0.0f)), V(1.0f));
  return sigmoid4(x);
}

/* Its derivative from the activated value a: a(1 − a); hardSigmoid: 0.2 inside (0, 1), else 0. */
__attribute__((always_inline)) static inline v128_t gate_grad4(v128_t a, int32_t act) {
  if (act == 1) return wasm_v128_and(V(0.2f), wasm_v128_and(wasm_f32x4_gt(a, V(0.0f)), wasm_f32x4_lt(a, V(1.0f))));
  return wasm_f32x4_mul(a, wasm_f32x4_sub(V(1.0f), a));
}

/*
 * Four rows at once: o_r[j] (+)= Σ_p a_r[p]·b[p][j] for j < nc; b is [k, nc]. acc_r: add to o_r's value,
 * else overwrite. The rows may repeat (a block of fewer than 4 rows passes its last row again): every
 * output strip is read before any is written, so a repeated row gets the same value twice.
 */
__attribute__((always_inline)) static inline void rows4(const f32 *a0, const f32 *a1, const f32 *a2, const f32 *a3, const f32 *b, int32_t k,
                                                        int32_t nc, f32 *o0, f32 *o1, f32 *o2, f32 *o3, int32_t acc0, int32_t acc1,
                                                        int32_t acc2, int32_t acc3) {
  const v128_t z = V(0.0f);
  int32_t j = 0;
  for (; j + 8 <= nc; j += 8) {
    v128_t c00 = acc0 ? wasm_v128_load(o0 + j) : z, c01 = acc0 ? wasm_v128_load(o0 + j + 4) : z;
    v128_t c10 = acc1 ? wasm_v128_load(o1 + j) : z, c11 = acc1 ? wasm_v128_load(o1 + j + 4) : z;
    v128_t c20 = acc2 ? wasm_v128_load(o2 + j) : z, c21 = acc2 ? wasm_v128_load(o2 + j + 4) : z;
    v128_t c30 = acc3 ? wasm_v128_load(o3 + j) : z, c31 = acc3 ? wasm_v128_load(o3 + j + 4) : z;
    const f32 *bp = b + j;
    for (int32_t p = 0; p < k; p++, bp += nc) {
      const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
      v128_t x = wasm_v128_load32_splat(a0 + p);
      c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x, b1));
      x = wasm_v128_load32_splat(a1 + p);
      c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x, b1));
      x = wasm_v128_load32_splat(a2 + p);
      c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x, b1));
      x = wasm_v128_load32_splat(a3 + p);
      c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x, b1));
    }
    wasm_v128_store(o0 + j, c00); wasm_v128_store(o0 + j + 4, c01);
    wasm_v128_store(o1 + j, c10); wasm_v128_store(o1 + j + 4, c11);
    wasm_v128_store(o2 + j, c20); wasm_v128_store(o2 + j + 4, c21);
    wasm_v128_store(o3 + j, c30); wasm_v128_store(o3 + j + 4, c31);
  }
  for (; j < nc; j += 4) {
    const int32_t w = nc - j; /* >= 4: a whole vector; else a tail */
    v128_t c0 = acc0 ? load_part(o0 + j, w) : z, c1 = acc1 ? load_part(o1 + j, w) : z;
    v128_t c2 = acc2 ? load_part(o2 + j, w) : z, c3 = acc3 ? load_part(o3 + j, w) : z;
    const f32 *bp = b + j;
    for (int32_t p = 0; p < k; p++, bp += nc) {
      const v128_t b0 = load_part(bp, w);
      c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wasm_v128_load32_splat(a0 + p), b0));
      c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(wasm_v128_load32_splat(a1 + p), b0));
      c2 = wasm_f32x4_add(c2, wasm_f32x4_mul(wasm_v128_load32_splat(a2 + p), b0));
      c3 = wasm_f32x4_add(c3, wasm_f32x4_mul(wasm_v128_load32_splat(a3 + p), b0));
    }
    store_part(o0 + j, w, c0); store_part(o1 + j, w, c1); store_part(o2 + j, w, c2); store_part(o3 + j, w, c3);
  }
}

/* Whether row r's step t is kept (no mask: always). */
__attribute__((always_inline)) static inline int32_t kept(const f32 *mask, int32_t r, int32_t t, int32_t steps) {
  return mask == 0 || mask[(int64_t)r * steps + t] != 0.0f;
}

/*
 * LSTM forward over all T steps for rows [r0, r1), as tfjs's LSTMCell + rnn():
 *   z = xw_t + h·U;  i = σ(z_i), f = σ(z_f), g = tanh(z_c), o = σ(z_o)
 *   c' = f·c + i·g;  h' = o·tanh(c')          (masked step: h, c carried)
 * act: the gate activation (0 sigmoid, 1 hardSigmoid). Writes hseq, gates, cprev, tanhc, hprev (see top).
 */
__attribute__((export_name("rnn_lstm_forward")))
void rnn_lstm_forward(const f32 *xw, const f32 *u, const f32 *h0, const f32 *c0, const f32 *mask, f32 *hseq, f32 *gates,
                      f32 *cprev, f32 *tanhc, f32 *hprev, int32_t n, int32_t steps, int32_t units, int32_t backwards,
                      int32_t act, int32_t r0, int32_t r1) {
  if (r1 > n) r1 = n;
  if (r0 < 0) r0 = 0;
  const int32_t g4 = 4 * units;
  for (int32_t s = 0; s < steps; s++) {
    const int32_t t = backwards ? steps - 1 - s : s;
    const int32_t tn = backwards ? t - 1 : t + 1; /* the next step's input time */
    for (int32_t rb = r0; rb < r1; rb += 4) {
      const int32_t rl = rb + 4 <= r1 ? 4 : r1 - rb;
      /* Per row: the state before the step into hprev / cprev (step 0: h0, c0; later steps' c is already there). */
      for (int32_t q = 0; q < rl; q++) {
        const int32_t r = rb + q;
        const int64_t rt = (int64_t)r * steps + t;
        const f32 *hp = s == 0 ? h0 + (int64_t)r * units : hseq + ((int64_t)r * steps + s - 1) * units;
        __builtin_memcpy(hprev + rt * units, hp, (unsigned long)units * sizeof(f32));
        if (s == 0) __builtin_memcpy(cprev + rt * units, c0 + (int64_t)r * units, (unsigned long)units * sizeof(f32));
        __builtin_memcpy(gates + rt * g4, xw + rt * g4, (unsigned long)g4 * sizeof(f32));
      }
      /* z += h·U for the block's rows. */
      const int32_t q1 = rl > 1 ? 1 : 0, q2 = rl > 2 ? 2 : rl - 1, q3 = rl - 1;
      const int64_t t0 = (int64_t)rb * steps + t;
      const int64_t s1 = t0 + (int64_t)q1 * steps, s2 = t0 + (int64_t)q2 * steps, s3 = t0 + (int64_t)q3 * steps;
      rows4(hprev + t0 * units, hprev + s1 * units, hprev + s2 * units, hprev + s3 * units, u, units, g4,
            gates + t0 * g4, gates + s1 * g4, gates + s2 * g4, gates + s3 * g4, 1, 1, 1, 1);
      /* Gates and the cell update, row by row. */
      for (int32_t q = 0; q < rl; q++) {
        const int32_t r = rb + q;
        const int64_t rt = (int64_t)r * steps + t;
        const int32_t keep = kept(mask, r, t, steps);
        f32 *gz = gates + rt * g4;
        const f32 *cp = cprev + rt * units, *hp = hprev + rt * units;
        f32 *tc = tanhc + rt * units, *ho = hseq + ((int64_t)r * steps + s) * units;
        f32 *cn = s + 1 < steps ? cprev + ((int64_t)r * steps + tn) * units : 0;
        for (int32_t j = 0; j < units; j += 4) {
          const int32_t w = units - j;
          const v128_t i = gate4(load_part(gz + j, w), act), f = gate4(load_part(gz + units + j, w), act);
          const v128_t g = tanh4(load_part(gz + 2 * units + j, w)), o = gate4(load_part(gz + 3 * units + j, w), act);
          const v128_t c = load_part(cp + j, w);
          const v128_t c1 = wasm_f32x4_add(wasm_f32x4_mul(f, c), wasm_f32x4_mul(i, g));
          const v128_t th = tanh4(c1);
          store_part(gz + j, w, i); store_part(gz + units + j, w, f); store_part(gz + 2 * units + j, w, g); store_part(gz + 3 * units + j, w, o);
          store_part(tc + j, w, th);
          store_part(ho + j, w, keep ? wasm_f32x4_mul(o, th) : load_part(hp + j, w));
          if (cn) store_part(cn + j, w, keep ? c1 : c);
        }
      }
    }
  }
}

/*
 * LSTM backward through time for rows [r0, r1), from what rnn_lstm_forward saved:
 *   dy     [N, T, U] (seq = 1: the gradient of every step's output, processing order) or [N, U] (seq = 0: the last output's)
 *   ut     [4U, U]   the recurrent kernel transposed
 *   dz     [N, T, 4U] out: the gradient of z (= of xw), input time (0 on masked steps)
 *   dh, dc [N, U]    out: the gradients of h0 and c0 (the running dh, dc through the steps)
 * Per step (processing order, last first): dh += dy_s; dc += dh·o·(1 − tanh²c'); dz_o = dh·tanh c'·σ'(o);
 * dz_i = dc·g·σ'(i); dz_f = dc·c·σ'(f); dz_c = dc·i·(1 − g²); dc ← dc·f; dh ← dz·Uᵀ. Masked: dz = 0, dh, dc carried.
 */
__attribute__((export_name("rnn_lstm_backward")))
void rnn_lstm_backward(const f32 *dy, int32_t seq, const f32 *ut, const f32 *gates, const f32 *cprev, const f32 *tanhc,
                       const f32 *mask, f32 *dz, f32 *dh, f32 *dc, int32_t n, int32_t steps, int32_t units, int32_t backwards,
                       int32_t act, int32_t r0, int32_t r1) {
  if (r1 > n) r1 = n;
  if (r0 < 0) r0 = 0;
  if (r0 >= r1) return;
  const int32_t g4 = 4 * units;
  __builtin_memset(dh + (int64_t)r0 * units, 0, (unsigned long)((int64_t)(r1 - r0) * units) * sizeof(f32));
  __builtin_memset(dc + (int64_t)r0 * units, 0, (unsigned long)((int64_t)(r1 - r0) * units) * sizeof(f32));
  for (int32_t s = steps - 1; s >= 0; s--) {
    const int32_t t = backwards ? steps - 1 - s : s;
    for (int32_t rb = r0; rb < r1; rb += 4) {
      const int32_t rl = rb + 4 <= r1 ? 4 : r1 - rb;
      int32_t keep0 = 0, keep1 = 0, keep2 = 0, keep3 = 0;
      for (int32_t q = 0; q < rl; q++) {
        const int32_t r = rb + q;
        const int64_t rt = (int64_t)r * steps + t;
        f32 *dhr = dh + (int64_t)r * units, *dcr = dc + (int64_t)r * units;
        const f32 *dyr = seq ? dy + ((int64_t)r * steps + s) * units : s == steps - 1 ? dy + (int64_t)r * units : 0;
        const int32_t keep = kept(mask, r, t, steps);
        if (q == 0) keep0 = keep; else if (q == 1) keep1 = keep; else if (q == 2) keep2 = keep; else keep3 = keep;
        f32 *dzr = dz + rt * g4;
        if (!keep) {
          if (dyr)
            for (int32_t j = 0; j < units; j += 4) store_part(dhr + j, units - j, wasm_f32x4_add(load_part(dhr + j, units - j), load_part(dyr + j, units - j)));
          __builtin_memset(dzr, 0, (unsigned long)g4 * sizeof(f32));
          continue;
        }
        const f32 *gz = gates + rt * g4, *cp = cprev + rt * units, *tc = tanhc + rt * units;
        for (int32_t j = 0; j < units; j += 4) {
          const int32_t w = units - j;
          v128_t h = load_part(dhr + j, w);
          if (dyr) h = wasm_f32x4_add(h, load_part(dyr + j, w));
          const v128_t i = load_part(gz + j, w), f = load_part(gz + units + j, w), g = load_part(gz + 2 * units + j, w), o = load_part(gz + 3 * units + j, w);
          const v128_t th = load_part(tc + j, w);
          const v128_t c = wasm_f32x4_add(load_part(dcr + j, w), wasm_f32x4_mul(wasm_f32x4_mul(h, o), wasm_f32x4_sub(V(1.0f), wasm_f32x4_mul(th, th))));
          store_part(dzr + j, w, wasm_f32x4_mul(wasm_f32x4_mul(c, g), gate_grad4(i, act)));
          store_part(dzr + units + j, w, wasm_f32x4_mul(wasm_f32x4_mul(c, load_part(cp + j, w)), gate_grad4(f, act)));
          store_part(dzr + 2 * units + j, w, wasm_f32x4_mul(wasm_f32x4_mul(c, i), wasm_f32x4_sub(V(1.0f), wasm_f32x4_mul(g, g))));
          store_part(dzr + 3 * units + j, w, wasm_f32x4_mul(wasm_f32x4_mul(h, th), gate_grad4(o, act)));
          store_part(dcr + j, w, wasm_f32x4_mul(c, f));
        }
      }
      /* dh = dz·Uᵀ for kept rows; a masked row's dz is 0, so adding the product to its dh keeps dh. */
      const int32_t q1 = rl > 1 ? 1 : 0, q2 = rl > 2 ? 2 : rl - 1, q3 = rl - 1;
      if (rl < 2) keep1 = keep0;
      if (rl < 3) keep2 = rl > 1 ? keep1 : keep0;
      if (rl < 4) keep3 = rl == 1 ? keep0 : rl == 2 ? keep1 : keep2;
      const int64_t t0 = (int64_t)rb * steps + t;
      rows4(dz + t0 * g4, dz + (t0 + (int64_t)q1 * steps) * g4, dz + (t0 + (int64_t)q2 * steps) * g4, dz + (t0 + (int64_t)q3 * steps) * g4,
            ut, g4, units, dh + (int64_t)rb * units, dh + (int64_t)(rb + q1) * units, dh + (int64_t)(rb + q2) * units,
            dh + (int64_t)(rb + q3) * units, !keep0, !keep1, !keep2, !keep3);
    }
  }
}
