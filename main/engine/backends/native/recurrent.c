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
 * GRU (Keras's gates z, r, h; reset_after as Keras's flag), 3U columns instead of 4U:
 *   xw     [N, T, 3U]  x·W + b (reset_after: b_ih + [b_hh_z, b_hh_r, 0]); input time
 *   u      [U, 3U]     recurrent kernel; ut [3U, U] its transpose; bh [U] b_hh's candidate part (reset_after) or 0
 *   gates  [N, T, 3U]  activated z, r and the candidate n; input time
 *   aux    [N, T, U]   reset_after: h·U_h + bh (before the reset gate); else r ⊙ h (the candidate's GEMM input)
 * The recurrent products use the 4-row register tile with ACC (one FMA in the relaxed build).
 */
// layerforge: relaxed-simd
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
 * Four rows at once: o_r[j] = s_r[j] + Σ_p a_r[p]·b[p·ldb + j] for j < nc (s_r = 0: from zero). The rows
 * may repeat (a block of fewer than 4 rows passes its last row again): every output strip is read (from
 * s_r) before any is written, so a repeated row gets the same value twice. s_r may be o_r (accumulate).
 */
__attribute__((always_inline)) static inline void rows4(const f32 *a0, const f32 *a1, const f32 *a2, const f32 *a3, const f32 *b, int32_t ldb,
                                                        int32_t k, int32_t nc, const f32 *s0, const f32 *s1, const f32 *s2,
                                                        const f32 *s3, f32 *o0, f32 *o1, f32 *o2, f32 *o3) {
  const v128_t z = V(0.0f);
  int32_t j = 0;
  for (; j + 8 <= nc; j += 8) {
    v128_t c00 = s0 ? wasm_v128_load(s0 + j) : z, c01 = s0 ? wasm_v128_load(s0 + j + 4) : z;
    v128_t c10 = s1 ? wasm_v128_load(s1 + j) : z, c11 = s1 ? wasm_v128_load(s1 + j + 4) : z;
    v128_t c20 = s2 ? wasm_v128_load(s2 + j) : z, c21 = s2 ? wasm_v128_load(s2 + j + 4) : z;
    v128_t c30 = s3 ? wasm_v128_load(s3 + j) : z, c31 = s3 ? wasm_v128_load(s3 + j + 4) : z;
    const f32 *bp = b + j;
    for (int32_t p = 0; p < k; p++, bp += ldb) {
      TILE4X8_STEP(a0, a1, a2, a3, p, bp);
    }
    wasm_v128_store(o0 + j, c00); wasm_v128_store(o0 + j + 4, c01);
    wasm_v128_store(o1 + j, c10); wasm_v128_store(o1 + j + 4, c11);
    wasm_v128_store(o2 + j, c20); wasm_v128_store(o2 + j + 4, c21);
    wasm_v128_store(o3 + j, c30); wasm_v128_store(o3 + j + 4, c31);
  }
  for (; j < nc; j += 4) {
    const int32_t w = nc - j; /* >= 4: a whole vector; else a tail */
    v128_t c0 = s0 ? load_part(s0 + j, w) : z, c1 = s1 ? load_part(s1 + j, w) : z;
    v128_t c2 = s2 ? load_part(s2 + j, w) : z, c3 = s3 ? load_part(s3 + j, w) : z;
    const f32 *bp = b + j;
    for (int32_t p = 0; p < k; p++, bp += ldb) {
      const v128_t b0 = load_part(bp, w);
      c0 = ACC(c0, wasm_v128_load32_splat(a0 + p), b0);
      c1 = ACC(c1, wasm_v128_load32_splat(a1 + p), b0);
      c2 = ACC(c2, wasm_v128_load32_splat(a2 + p), b0);
      c3 = ACC(c3, wasm_v128_load32_splat(a3 + p), b0);
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
      }
      /* z = xw_t + h·U for the block's rows. */
      const int32_t q1 = rl > 1 ? 1 : 0, q2 = rl > 2 ? 2 : rl - 1, q3 = rl - 1;
      const int64_t t0 = (int64_t)rb * steps + t;
      const int64_t s1 = t0 + (int64_t)q1 * steps, s2 = t0 + (int64_t)q2 * steps, s3 = t0 + (int64_t)q3 * steps;
      rows4(hprev + t0 * units, hprev + s1 * units, hprev + s2 * units, hprev + s3 * units, u, g4, units, g4,
            xw + t0 * g4, xw + s1 * g4, xw + s2 * g4, xw + s3 * g4, gates + t0 * g4, gates + s1 * g4, gates + s2 * g4, gates + s3 * g4);
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
      f32 *d0 = dh + (int64_t)rb * units, *d1 = dh + (int64_t)(rb + q1) * units, *d2 = dh + (int64_t)(rb + q2) * units, *d3 = dh + (int64_t)(rb + q3) * units;
      rows4(dz + t0 * g4, dz + (t0 + (int64_t)q1 * steps) * g4, dz + (t0 + (int64_t)q2 * steps) * g4, dz + (t0 + (int64_t)q3 * steps) * g4,
            ut, units, g4, units, keep0 ? 0 : d0, keep1 ? 0 : d1, keep2 ? 0 : d2, keep3 ? 0 : d3, d0, d1, d2, d3);
    }
  }
}

/*
 * GRU forward over all T steps for rows [r0, r1), Keras's GRU (gates z, r, h; σ the gate activation):
 *   reset_after 0 (tfjs's GRUCell): z = σ(xw_z + h·U_z), r = σ(xw_r + h·U_r), n = tanh(xw_h + (r ⊙ h)·U_h)
 *   reset_after 1:                  z, r as above,  n = tanh(xw_h + r ⊙ (h·U_h + bh))
 *   h' = z ⊙ h + (1 − z) ⊙ n        (masked step: h carried)
 * Writes hseq, gates (z, r, n), hprev and aux (see top). bh: 0 for none (reset_after 0 ignores it).
 */
__attribute__((export_name("rnn_gru_forward")))
void rnn_gru_forward(const f32 *xw, const f32 *u, const f32 *bh, const f32 *h0, const f32 *mask, f32 *hseq, f32 *gates, f32 *hprev,
                     f32 *aux, int32_t n, int32_t steps, int32_t units, int32_t backwards, int32_t act, int32_t reset_after,
                     int32_t r0, int32_t r1) {
  if (r1 > n) r1 = n;
  if (r0 < 0) r0 = 0;
  const int32_t g3 = 3 * units, u2 = 2 * units;
  for (int32_t s = 0; s < steps; s++) {
    const int32_t t = backwards ? steps - 1 - s : s;
    for (int32_t rb = r0; rb < r1; rb += 4) {
      const int32_t rl = rb + 4 <= r1 ? 4 : r1 - rb;
      for (int32_t q = 0; q < rl; q++) {
        const int32_t r = rb + q;
        const f32 *hp = s == 0 ? h0 + (int64_t)r * units : hseq + ((int64_t)r * steps + s - 1) * units;
        __builtin_memcpy(hprev + ((int64_t)r * steps + t) * units, hp, (unsigned long)units * sizeof(f32));
      }
      const int32_t q1 = rl > 1 ? 1 : 0, q2 = rl > 2 ? 2 : rl - 1, q3 = rl - 1;
      const int64_t t0 = (int64_t)rb * steps + t;
      const int64_t s1 = t0 + (int64_t)q1 * steps, s2 = t0 + (int64_t)q2 * steps, s3 = t0 + (int64_t)q3 * steps;
      /* z, r before the activation: xw_zr + h·U_zr. */
      rows4(hprev + t0 * units, hprev + s1 * units, hprev + s2 * units, hprev + s3 * units, u, g3, units, u2,
            xw + t0 * g3, xw + s1 * g3, xw + s2 * g3, xw + s3 * g3, gates + t0 * g3, gates + s1 * g3, gates + s2 * g3, gates + s3 * g3);
      /* reset_after: aux = h·U_h + bh. */
      if (reset_after)
        rows4(hprev + t0 * units, hprev + s1 * units, hprev + s2 * units, hprev + s3 * units, u + u2, g3, units, units,
              bh, bh, bh, bh, aux + t0 * units, aux + s1 * units, aux + s2 * units, aux + s3 * units);
      for (int32_t q = 0; q < rl; q++) {
        const int32_t r = rb + q;
        const int64_t rt = (int64_t)r * steps + t;
        f32 *gz = gates + rt * g3, *ax = aux + rt * units;
        const f32 *hp = hprev + rt * units, *xh = xw + rt * g3 + u2;
        f32 *ho = hseq + ((int64_t)r * steps + s) * units;
        const int32_t keep = kept(mask, r, t, steps);
        for (int32_t j = 0; j < units; j += 4) {
          const int32_t w = units - j;
          const v128_t z = gate4(load_part(gz + j, w), act), rr = gate4(load_part(gz + units + j, w), act);
          store_part(gz + j, w, z);
          store_part(gz + units + j, w, rr);
          const v128_t h = load_part(hp + j, w);
          if (reset_after) {
            const v128_t c = tanh4(wasm_f32x4_add(load_part(xh + j, w), wasm_f32x4_mul(rr, load_part(ax + j, w))));
            store_part(gz + u2 + j, w, c);
            store_part(ho + j, w, keep ? wasm_f32x4_add(c, wasm_f32x4_mul(z, wasm_f32x4_sub(h, c))) : h);
          } else {
            store_part(ax + j, w, wasm_f32x4_mul(rr, h));
          }
        }
      }
      if (reset_after) continue;
      /* reset_after 0: the candidate's xw_h + (r ⊙ h)·U_h, then n and h'. */
      rows4(aux + t0 * units, aux + s1 * units, aux + s2 * units, aux + s3 * units, u + u2, g3, units, units,
            xw + t0 * g3 + u2, xw + s1 * g3 + u2, xw + s2 * g3 + u2, xw + s3 * g3 + u2,
            gates + t0 * g3 + u2, gates + s1 * g3 + u2, gates + s2 * g3 + u2, gates + s3 * g3 + u2);
      for (int32_t q = 0; q < rl; q++) {
        const int32_t r = rb + q;
        const int64_t rt = (int64_t)r * steps + t;
        f32 *gz = gates + rt * g3;
        const f32 *hp = hprev + rt * units;
        f32 *ho = hseq + ((int64_t)r * steps + s) * units;
        const int32_t keep = kept(mask, r, t, steps);
        for (int32_t j = 0; j < units; j += 4) {
          const int32_t w = units - j;
          const v128_t c = tanh4(load_part(gz + u2 + j, w)), z = load_part(gz + j, w), h = load_part(hp + j, w);
          store_part(gz + u2 + j, w, c);
          store_part(ho + j, w, keep ? wasm_f32x4_add(c, wasm_f32x4_mul(z, wasm_f32x4_sub(h, c))) : h);
        }
      }
    }
  }
}

/*
 * GRU backward through time for rows [r0, r1), from what rnn_gru_forward saved (dy, seq as for the LSTM):
 *   ut   [3U, U]     the recurrent kernel transposed
 *   dxw  [N, T, 3U]  out: the gradient of xw, input time (0 on masked steps)
 *   dhu  [N, T, 3U]  out, reset_after only (else 0): the gradient of h·U (+ bh): dU = Σ hprevᵀ·dhu, dbh = Σ dhu_h
 *   dh   [N, U]      out: the gradient of h0
 * Per step, last first: dh += dy_s; dz~ = dh(h − n)σ'(z); dn~ = dh(1 − z)(1 − n²); dh ← dh·z + …
 *   reset_after 1: dr~ = dn~·aux·σ'(r); dhu = [dz~, dr~, dn~·r]; dh += dhu·Uᵀ
 *   reset_after 0: d(rh) = dn~·U_hᵀ; dr~ = d(rh)·h·σ'(r); dh += d(rh)·r + [dz~, dr~]·U_zrᵀ
 * (dU for reset_after 0: Σ hprevᵀ·dxw_zr and Σ auxᵀ·dxw_h, the caller's GEMMs.)
 */
__attribute__((export_name("rnn_gru_backward")))
void rnn_gru_backward(const f32 *dy, int32_t seq, const f32 *ut, const f32 *gates, const f32 *hprev, const f32 *aux, const f32 *mask,
                      f32 *dxw, f32 *dhu, f32 *dh, int32_t n, int32_t steps, int32_t units, int32_t backwards, int32_t act,
                      int32_t reset_after, int32_t r0, int32_t r1) {
  if (r1 > n) r1 = n;
  if (r0 < 0) r0 = 0;
  if (r0 >= r1) return;
  const int32_t g3 = 3 * units, u2 = 2 * units;
  __builtin_memset(dh + (int64_t)r0 * units, 0, (unsigned long)((int64_t)(r1 - r0) * units) * sizeof(f32));
  for (int32_t s = steps - 1; s >= 0; s--) {
    const int32_t t = backwards ? steps - 1 - s : s;
    for (int32_t rb = r0; rb < r1; rb += 4) {
      const int32_t rl = rb + 4 <= r1 ? 4 : r1 - rb;
      for (int32_t q = 0; q < rl; q++) {
        const int32_t r = rb + q;
        const int64_t rt = (int64_t)r * steps + t;
        f32 *dhr = dh + (int64_t)r * units, *dx = dxw + rt * g3, *du = reset_after ? dhu + rt * g3 : 0;
        const f32 *dyr = seq ? dy + ((int64_t)r * steps + s) * units : s == steps - 1 ? dy + (int64_t)r * units : 0;
        if (!kept(mask, r, t, steps)) {
          if (dyr)
            for (int32_t j = 0; j < units; j += 4) store_part(dhr + j, units - j, wasm_f32x4_add(load_part(dhr + j, units - j), load_part(dyr + j, units - j)));
          __builtin_memset(dx, 0, (unsigned long)g3 * sizeof(f32));
          if (du) __builtin_memset(du, 0, (unsigned long)g3 * sizeof(f32));
          continue;
        }
        const f32 *gz = gates + rt * g3, *hp = hprev + rt * units, *ax = aux + rt * units;
        for (int32_t j = 0; j < units; j += 4) {
          const int32_t w = units - j;
          v128_t d = load_part(dhr + j, w);
          if (dyr) d = wasm_f32x4_add(d, load_part(dyr + j, w));
          const v128_t z = load_part(gz + j, w), c = load_part(gz + u2 + j, w), h = load_part(hp + j, w);
          const v128_t dzp = wasm_f32x4_mul(wasm_f32x4_mul(d, wasm_f32x4_sub(h, c)), gate_grad4(z, act));
          const v128_t dnp = wasm_f32x4_mul(wasm_f32x4_mul(d, wasm_f32x4_sub(V(1.0f), z)), wasm_f32x4_sub(V(1.0f), wasm_f32x4_mul(c, c)));
          store_part(dx + j, w, dzp);
          store_part(dx + u2 + j, w, dnp);
          store_part(dhr + j, w, wasm_f32x4_mul(d, z));
          if (du) {
            const v128_t rr = load_part(gz + units + j, w);
            const v128_t drp = wasm_f32x4_mul(wasm_f32x4_mul(dnp, load_part(ax + j, w)), gate_grad4(rr, act));
            store_part(dx + units + j, w, drp);
            store_part(du + j, w, dzp);
            store_part(du + units + j, w, drp);
            store_part(du + u2 + j, w, wasm_f32x4_mul(dnp, rr));
          }
        }
      }
      const int32_t q1 = rl > 1 ? 1 : 0, q2 = rl > 2 ? 2 : rl - 1, q3 = rl - 1;
      const int64_t t0 = (int64_t)rb * steps + t;
      const int64_t s1 = t0 + (int64_t)q1 * steps, s2 = t0 + (int64_t)q2 * steps, s3 = t0 + (int64_t)q3 * steps;
      f32 *d0 = dh + (int64_t)rb * units, *d1 = dh + (int64_t)(rb + q1) * units, *d2 = dh + (int64_t)(rb + q2) * units, *d3 = dh + (int64_t)(rb + q3) * units;
      if (reset_after) {
        /* dh += dhu·Uᵀ (a masked row's dhu is 0: its dh is kept). */
        rows4(dhu + t0 * g3, dhu + s1 * g3, dhu + s2 * g3, dhu + s3 * g3, ut, units, g3, units, d0, d1, d2, d3, d0, d1, d2, d3);
        continue;
      }
      /* d(rh) = dn~·U_hᵀ into dxw's r slot, then dr~ and dh += d(rh)·r; then dh += [dz~, dr~]·U_zrᵀ. */
      rows4(dxw + t0 * g3 + u2, dxw + s1 * g3 + u2, dxw + s2 * g3 + u2, dxw + s3 * g3 + u2, ut + (int64_t)u2 * units, units, units, units,
            0, 0, 0, 0, dxw + t0 * g3 + units, dxw + s1 * g3 + units, dxw + s2 * g3 + units, dxw + s3 * g3 + units);
      for (int32_t q = 0; q < rl; q++) {
        const int32_t r = rb + q;
        const int64_t rt = (int64_t)r * steps + t;
        if (!kept(mask, r, t, steps)) continue; /* its d(rh) is 0 (dn~ is) */
        f32 *dhr = dh + (int64_t)r * units, *dx = dxw + rt * g3;
        const f32 *gz = gates + rt * g3, *hp = hprev + rt * units;
        for (int32_t j = 0; j < units; j += 4) {
          const int32_t w = units - j;
          const v128_t drh = load_part(dx + units + j, w), rr = load_part(gz + units + j, w);
          store_part(dhr + j, w, wasm_f32x4_add(load_part(dhr + j, w), wasm_f32x4_mul(drh, rr)));
          store_part(dx + units + j, w, wasm_f32x4_mul(wasm_f32x4_mul(drh, load_part(hp + j, w)), gate_grad4(rr, act)));
        }
      }
      rows4(dxw + t0 * g3, dxw + s1 * g3, dxw + s2 * g3, dxw + s3 * g3, ut, units, u2, units, d0, d1, d2, d3, d0, d1, d2, d3);
    }
  }
}
