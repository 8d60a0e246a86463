/*
 * Scaled dot-product attention, forward and backward, one (batch, head) pair at a time, for the
 * MultiHeadAttention layer (backends/attention.ts). Per pair, with Q [Tq, dk], K [Tk, dk], V [Tk, dv]:
 *
 *   P  = softmax(scale·Q·Kᵀ + causal mask)      (saved for the backward pass, [B, H, Tq, Tk])
 *   Pd = P ∘ M                                   (dropout: M = 1/keep where fl(u + keep) >= 1, else 0,
 *                                                 exactly tfjs's floor(u + keep) / keep, from a noise tensor
 *                                                 u; or a hash of (seed, index), below; no dropout: M = 1)
 *   O  = Pd·V
 *
 * and its gradient dV = Pdᵀ·dO, dP = (dO·Vᵀ) ∘ M, dS = scale·P ∘ (dP − Σ_j dP·P), dQ = dS·K, dK = dSᵀ·Q.
 *
 * Q, K, V, O and their gradients are read and written in the layout the projections produce, rows of
 * [B, T, columns] with head h at columns h·d … (h+1)·d − 1 (a row stride per tensor), so no transposes
 * between heads are needed, and Q, K and V may be column ranges of one packed [B, T, 3·H·d] tensor.
 * Products use a 4x8 (or 4x4) register tile; rows past the end alias the last row (the same values are
 * written twice). With the causal mask, blocks of keys a query cannot see are skipped. dk, dv and Tk
 * are multiples of 4 (the caller checks). Scratch (per thread, floats): forward dk·Tk8 + Tq·Tk8 + Tk·dv,
 * backward dv·Tk8 + Tq·Tk8 + Tk·Tq (the transpose of Pd, with dropout only) + max(Tq, Tk)·max(dk, dv),
 * Tk8 = Tk rounded up to 8.
 *
 * Rules as in kernels.c: leaf functions, no data, no stack; writes only to the caller's buffers.
 */
// layerforge: relaxed-simd
#include "simd.h"

#define AI __attribute__((always_inline)) static inline

/* c rows = a rows · B over p < k, 8 columns of B starting at b (B rows br floats apart; A's element p of
   a row at a + p·as: as = 1, or A's transpose read in place with as = its row stride). */
AI void mm8(const f32 *a0, const f32 *a1, const f32 *a2, const f32 *a3, int32_t as, const f32 *b, int32_t br, f32 *c0, f32 *c1,
            f32 *c2, f32 *c3, int32_t k) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  v128_t x00 = z, x01 = z, x10 = z, x11 = z, x20 = z, x21 = z, x30 = z, x31 = z;
  for (int32_t p = 0; p < k; p++, b += br, a0 += as, a1 += as, a2 += as, a3 += as) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    v128_t x = wasm_v128_load32_splat(a0);
    x00 = ACC(x00, x, b0); x01 = ACC(x01, x, b1);
    x = wasm_v128_load32_splat(a1);
    x10 = ACC(x10, x, b0); x11 = ACC(x11, x, b1);
    x = wasm_v128_load32_splat(a2);
    x20 = ACC(x20, x, b0); x21 = ACC(x21, x, b1);
    x = wasm_v128_load32_splat(a3);
    x30 = ACC(x30, x, b0); x31 = ACC(x31, x, b1);
  }
  wasm_v128_store(c0, x00); wasm_v128_store(c0 + 4, x01);
  wasm_v128_store(c1, x10); wasm_v128_store(c1 + 4, x11);
  wasm_v128_store(c2, x20); wasm_v128_store(c2 + 4, x21);
  wasm_v128_store(c3, x30); wasm_v128_store(c3 + 4, x31);
}

/* The same for 4 columns. */
AI void mm4(const f32 *a0, const f32 *a1, const f32 *a2, const f32 *a3, int32_t as, const f32 *b, int32_t br, f32 *c0, f32 *c1,
            f32 *c2, f32 *c3, int32_t k) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  v128_t x0 = z, x1 = z, x2 = z, x3 = z;
  for (int32_t p = 0; p < k; p++, b += br, a0 += as, a1 += as, a2 += as, a3 += as) {
    const v128_t b0 = wasm_v128_load(b);
    x0 = ACC(x0, wasm_v128_load32_splat(a0), b0);
    x1 = ACC(x1, wasm_v128_load32_splat(a1), b0);
    x2 = ACC(x2, wasm_v128_load32_splat(a2), b0);
    x3 = ACC(x3, wasm_v128_load32_splat(a3), b0);
  }
  wasm_v128_store(c0, x0); wasm_v128_store(c1, x1); wasm_v128_store(c2, x2); wasm_v128_store(c3, x3);
}

/*
 * C[rows, cols] = A·B (cols % 4 == 0; A rows ar apart, B rows br apart, C rows cr apart), over k, by
 * blocks of 4 rows. mode 0: every row block over p < k. 1 (causal, queries x keys): row block i0 stops
 * at p < min(k, i0 + 4) (the later keys have weight 0). 2 (causal, keys x queries): row block j0 starts
 * at p = j0 (earlier queries do not see these keys). 3 (causal scores): row block i0 only computes the
 * columns below i0 + 4 rounded up to 8.
 */
AI void mm(const f32 *a, int32_t ar, int32_t as, const f32 *b, int32_t br, f32 *c, int32_t cr, int32_t rows, int32_t cols, int32_t k,
           int32_t mode) {
  const int32_t last = rows - 1;
  for (int32_t i0 = 0; i0 < rows; i0 += 4) {
    const int32_t i1 = i0 + 1 < rows ? i0 + 1 : last, i2 = i0 + 2 < rows ? i0 + 2 : last, i3 = i0 + 3 < rows ? i0 + 3 : last;
    int32_t p0 = 0, kk = k, cn = cols;
    if (mode == 1) {
      kk = i0 + 4 < k ? i0 + 4 : k;
    } else if (mode == 2) {
      p0 = i0 < k ? i0 : k;
      kk = k - p0;
    } else if (mode == 3) {
      const int32_t lim = (i0 + 4 + 7) & ~7;
      cn = lim < cols ? lim : cols;
    }
    const int64_t pa = (int64_t)p0 * as;
    const f32 *a0 = a + (int64_t)i0 * ar + pa, *a1 = a + (int64_t)i1 * ar + pa, *a2 = a + (int64_t)i2 * ar + pa, *a3 = a + (int64_t)i3 * ar + pa;
    const f32 *bb = b + (int64_t)p0 * br;
    f32 *c0 = c + (int64_t)i0 * cr, *c1 = c + (int64_t)i1 * cr, *c2 = c + (int64_t)i2 * cr, *c3 = c + (int64_t)i3 * cr;
    int32_t j = 0;
    for (; j + 8 <= cn; j += 8) mm8(a0, a1, a2, a3, as, bb + j, br, c0 + j, c1 + j, c2 + j, c3 + j, kk);
    if (j < cn) mm4(a0, a1, a2, a3, as, bb + j, br, c0 + j, c1 + j, c2 + j, c3 + j, kk);
  }
}

/* dst[d][j] = src[j·stride + d] for j < n, d < dim; columns n … n8 − 1 zero. */
AI void transpose_in(const f32 *src, int32_t stride, f32 *dst, int32_t n, int32_t n8, int32_t dim) {
  for (int32_t j = 0; j < n; j++) {
    const f32 *s = src + (int64_t)j * stride;
    for (int32_t d = 0; d < dim; d++) dst[(int64_t)d * n8 + j] = s[d];
  }
  for (int32_t d = 0; d < dim; d++)
    for (int32_t j = n; j < n8; j++) dst[(int64_t)d * n8 + j] = 0.0f;
}

/* dst rows (d floats each, contiguous) = src rows (stride floats apart), d % 4 == 0. */
AI void gather(const f32 *src, int32_t stride, f32 *dst, int32_t rows, int32_t d) {
  for (int32_t r = 0; r < rows; r++, src += stride, dst += d)
    for (int32_t c = 0; c < d; c += 4) wasm_v128_store(dst + c, wasm_v128_load(src + c));
}

/* The dropout multipliers of 4 noise values: 1/keep where fl(u + keep) >= 1, else 0. */
AI v128_t drop4(const f32 *u, v128_t keep, v128_t inv) {
  return wasm_v128_and(inv, wasm_f32x4_ge(wasm_f32x4_add(wasm_v128_load(u), keep), wasm_f32x4_splat(1.0f)));
}
AI f32 drop1(f32 u, f32 keep, f32 inv) {
  return u + keep >= 1.0f ? inv : 0.0f;
}

/*
 * Without a noise tensor (u = 0, keep < 1): element e of [B·H, Tq, Tk] is kept when the top 24 bits of
 * fmix32(e·0x9E3779B1 + seed) (MurmurHash3's finaliser) are below keep·2^24: a counter-based draw, so
 * the backward pass recomputes the forward's mask from (seed, e) and nothing is stored or drawn in JS.
 */
AI v128_t hash4(v128_t e, v128_t seed) {
  v128_t h = wasm_i32x4_add(wasm_i32x4_mul(e, wasm_i32x4_splat((int32_t)0x9E3779B1u)), seed);
  h = wasm_v128_xor(h, wasm_u32x4_shr(h, 16));
  h = wasm_i32x4_mul(h, wasm_i32x4_splat((int32_t)0x85EBCA6Bu));
  h = wasm_v128_xor(h, wasm_u32x4_shr(h, 13));
  h = wasm_i32x4_mul(h, wasm_i32x4_splat((int32_t)0xC2B2AE35u));
  h = wasm_v128_xor(h, wasm_u32x4_shr(h, 16));
  return wasm_u32x4_shr(h, 8);
}
/* The multipliers of elements e0 … e0 + 3. */
AI v128_t drop4h(int32_t e0, v128_t seed, v128_t thr, v128_t inv) {
  const v128_t e = wasm_i32x4_add(wasm_i32x4_splat(e0), wasm_i32x4_make(0, 1, 2, 3));
  return wasm_v128_and(inv, wasm_i32x4_lt(hash4(e, seed), thr));
}
AI f32 drop1h(int32_t e, int32_t seed, int32_t thr, f32 inv) {
  uint32_t h = (uint32_t)e * 0x9E3779B1u + (uint32_t)seed;
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return (int32_t)(h >> 8) < thr ? inv : 0.0f;
}

AI f32 hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

AI f32 bits_float(int32_t bits) {
  return wasm_f32x4_extract_lane(wasm_i32x4_splat(bits), 0);
}

/*
 * Forward for pairs [g_begin, g_end) of B·H (g = b·H + h). q, k, v, o: the first row of batch 0, head 0
 * (a column offset already applied); qs, ks, vs, os: their row strides in floats. p: [B·H, Tq, Tk].
 * u: the dropout noise [B·H, Tq, Tk] or 0 (no dropout). scale_bits, keep_bits: float32 bits.
 */
__attribute__((export_name("attn_forward")))
void attn_forward(const f32 *q, const f32 *k, const f32 *v, f32 *o, f32 *p, const f32 *u, f32 *scratch, int32_t heads, int32_t tq,
                  int32_t tk, int32_t dk, int32_t dv, int32_t qs, int32_t ks, int32_t vs, int32_t os, int32_t scale_bits,
                  int32_t causal, int32_t keep_bits, int32_t seed, int32_t fast, int32_t g_begin, int32_t g_end) {
  const int32_t tk8 = (tk + 7) & ~7;
  f32 *kt = scratch, *s = scratch + (int64_t)dk * tk8, *vc = s + (int64_t)tq * tk8;
  const v128_t vscale = wasm_i32x4_splat(scale_bits);
  const f32 keep = bits_float(keep_bits), inv = 1.0f / keep;
  const v128_t vkeep = wasm_f32x4_splat(keep), vinv = wasm_f32x4_splat(inv);
  const int32_t hashed = !u && keep < 1.0f, thr = (int32_t)(keep * 16777216.0f);
  const v128_t vseed = wasm_i32x4_splat(seed), vthr = wasm_i32x4_splat(thr);
  for (int32_t g = g_begin; g < g_end; g++) {
    const int32_t b = g / heads, h = g % heads;
    const f32 *qg = q + (int64_t)b * tq * qs + (int64_t)h * dk;
    const f32 *kg = k + (int64_t)b * tk * ks + (int64_t)h * dk;
    const f32 *vg = v + (int64_t)b * tk * vs + (int64_t)h * dv;
    f32 *og = o + (int64_t)b * tq * os + (int64_t)h * dv;
    f32 *pg = p + (int64_t)g * tq * tk;
    const f32 *ug = u ? u + (int64_t)g * tq * tk : 0;
    transpose_in(kg, ks, kt, tk, tk8, dk);
    mm(qg, qs, 1, kt, tk8, s, tk8, tq, tk8, dk, causal ? 3 : 0);
    for (int32_t i = 0; i < tq; i++) {
      const f32 *sr = s + (int64_t)i * tk8;
      f32 *pr = pg + (int64_t)i * tk;
      int32_t live = causal ? i + 1 : tk;
      if (live > tk) live = tk;
      const int32_t live4 = (live + 3) & ~3;
      const v128_t ninf = wasm_f32x4_splat(-__builtin_inff());
      v128_t sum = wasm_f32x4_splat(0.0f), vm;
      if (fast) {
        /* Whole blocks of 4 live keys without masks, then the one partial block masked; pmax (one instruction)
           instead of the NaN-exact max (a NaN score then need not win the max, but it reaches the sum anyway). */
        const int32_t full = live & ~3;
        v128_t mx = ninf;
        for (int32_t j = 0; j < full; j += 4) mx = wasm_f32x4_pmax(mx, wasm_v128_load(sr + j));
        const v128_t tail_in = wasm_i32x4_lt(wasm_i32x4_make(full, full + 1, full + 2, full + 3), wasm_i32x4_splat(live));
        if (full < live4) mx = wasm_f32x4_pmax(mx, wasm_v128_bitselect(wasm_v128_load(sr + full), ninf, tail_in));
        f32 m = wasm_f32x4_extract_lane(mx, 0);
        if (wasm_f32x4_extract_lane(mx, 1) > m) m = wasm_f32x4_extract_lane(mx, 1);
        if (wasm_f32x4_extract_lane(mx, 2) > m) m = wasm_f32x4_extract_lane(mx, 2);
        if (wasm_f32x4_extract_lane(mx, 3) > m) m = wasm_f32x4_extract_lane(mx, 3);
        /* scale·s − scale·max: the max of the raw scores (scale > 0) */
        vm = wasm_f32x4_mul(wasm_f32x4_splat(m), vscale);
        for (int32_t j = 0; j < full; j += 4) {
          const v128_t e = exp4_le0(wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(sr + j), vscale), vm));
          sum = wasm_f32x4_add(sum, e);
          wasm_v128_store(pr + j, e);
        }
        if (full < live4) {
          const v128_t x = wasm_v128_bitselect(wasm_f32x4_mul(wasm_v128_load(sr + full), vscale), vm, tail_in);
          const v128_t e = wasm_v128_and(exp4_le0(wasm_f32x4_sub(x, vm)), tail_in);
          sum = wasm_f32x4_add(sum, e);
          wasm_v128_store(pr + full, e);
        }
      } else {
        v128_t mx = ninf;
        for (int32_t j = 0; j < live4; j += 4) {
          v128_t x = wasm_f32x4_mul(wasm_v128_load(sr + j), vscale);
          const v128_t in = wasm_i32x4_lt(wasm_i32x4_make(j, j + 1, j + 2, j + 3), wasm_i32x4_splat(live));
          mx = wasm_f32x4_max(mx, wasm_v128_bitselect(x, ninf, in));
        }
        f32 m = wasm_f32x4_extract_lane(mx, 0);
        if (wasm_f32x4_extract_lane(mx, 1) > m) m = wasm_f32x4_extract_lane(mx, 1);
        if (wasm_f32x4_extract_lane(mx, 2) > m) m = wasm_f32x4_extract_lane(mx, 2);
        if (wasm_f32x4_extract_lane(mx, 3) > m) m = wasm_f32x4_extract_lane(mx, 3);
        vm = wasm_f32x4_splat(m);
        for (int32_t j = 0; j < live4; j += 4) {
          const v128_t in = wasm_i32x4_lt(wasm_i32x4_make(j, j + 1, j + 2, j + 3), wasm_i32x4_splat(live));
          v128_t x = wasm_f32x4_mul(wasm_v128_load(sr + j), vscale);
          x = wasm_v128_bitselect(x, vm, in); /* masked lanes: finite, zeroed below */
          const v128_t e = wasm_v128_and(exp4(wasm_f32x4_sub(x, vm)), in);
          sum = wasm_f32x4_add(sum, e);
          wasm_v128_store(pr + j, e);
        }
      }
      const v128_t vt = wasm_f32x4_splat(1.0f / hsum(sum));
      for (int32_t j = 0; j < live4; j += 4) wasm_v128_store(pr + j, wasm_f32x4_mul(wasm_v128_load(pr + j), vt));
      for (int32_t j = live4; j < tk; j += 4) wasm_v128_store(pr + j, wasm_f32x4_splat(0.0f));
      if (ug) {
        /* Pd into the scores' row (no longer needed): the product below reads it. */
        f32 *dr = s + (int64_t)i * tk8;
        const f32 *ur = ug + (int64_t)i * tk;
        for (int32_t j = 0; j < tk; j += 4) wasm_v128_store(dr + j, wasm_f32x4_mul(wasm_v128_load(pr + j), drop4(ur + j, vkeep, vinv)));
      } else if (hashed) {
        f32 *dr = s + (int64_t)i * tk8;
        const int32_t e0 = (int32_t)(((uint32_t)g * (uint32_t)tq + (uint32_t)i) * (uint32_t)tk); /* wraps: only hashed */
        for (int32_t j = 0; j < tk; j += 4) wasm_v128_store(dr + j, wasm_f32x4_mul(wasm_v128_load(pr + j), drop4h(e0 + j, vseed, vthr, vinv)));
      }
    }
    /* V's rows contiguous first: read once per block of 4 queries, rows a row stride apart would share few cache sets. */
    gather(vg, vs, vc, tk, dv);
    if (ug || hashed) mm(s, tk8, 1, vc, dv, og, os, tq, dv, tk, causal ? 1 : 0);
    else mm(pg, tk, 1, vc, dv, og, os, tq, dv, tk, causal ? 1 : 0);
  }
}

/*
 * Backward for pairs [g_begin, g_end): from q, k, v, p, u (as in attn_forward) and dO (do_, row
 * stride os) writes dq, dk, dv (row strides dqs, dks, dvs; every element of each pair's head columns).
 */
__attribute__((export_name("attn_backward")))
void attn_backward(const f32 *q, const f32 *k, const f32 *v, const f32 *p, const f32 *u, const f32 *do_, f32 *dq, f32 *dk_, f32 *dv_,
                   f32 *scratch, int32_t heads, int32_t tq, int32_t tk, int32_t dk, int32_t dv, int32_t qs, int32_t ks, int32_t vs,
                   int32_t os, int32_t dqs, int32_t dks, int32_t dvs, int32_t scale_bits, int32_t causal, int32_t keep_bits,
                   int32_t seed, int32_t g_begin, int32_t g_end) {
  const int32_t tk8 = (tk + 7) & ~7;
  f32 *vt = scratch, *ds = scratch + (int64_t)dv * tk8, *tr = ds + (int64_t)tq * tk8, *cb = tr + (int64_t)tk * tq;
  const f32 scale = bits_float(scale_bits);
  const v128_t vscale = wasm_f32x4_splat(scale);
  const f32 keep = bits_float(keep_bits), inv = 1.0f / keep;
  const v128_t vkeep = wasm_f32x4_splat(keep), vinv = wasm_f32x4_splat(inv);
  const int32_t hashed = !u && keep < 1.0f, thr = (int32_t)(keep * 16777216.0f);
  const v128_t vseed = wasm_i32x4_splat(seed), vthr = wasm_i32x4_splat(thr);
  for (int32_t g = g_begin; g < g_end; g++) {
    const int32_t b = g / heads, h = g % heads;
    const f32 *qg = q + (int64_t)b * tq * qs + (int64_t)h * dk;
    const f32 *kg = k + (int64_t)b * tk * ks + (int64_t)h * dk;
    const f32 *vg = v + (int64_t)b * tk * vs + (int64_t)h * dv;
    const f32 *dog = do_ + (int64_t)b * tq * os + (int64_t)h * dv;
    f32 *dqg = dq + (int64_t)b * tq * dqs + (int64_t)h * dk;
    f32 *dkg = dk_ + (int64_t)b * tk * dks + (int64_t)h * dk;
    f32 *dvg = dv_ + (int64_t)b * tk * dvs + (int64_t)h * dv;
    const f32 *pg = p + (int64_t)g * tq * tk;
    const f32 *ug = u ? u + (int64_t)g * tq * tk : 0;
    /* dPd = dO·Vᵀ, then dS = scale·P ∘ (dP − Σ dP·P) in place (keys a query cannot see: 0). */
    transpose_in(vg, vs, vt, tk, tk8, dv);
    mm(dog, os, 1, vt, tk8, ds, tk8, tq, tk8, dv, causal ? 3 : 0);
    for (int32_t i = 0; i < tq; i++) {
      f32 *dr = ds + (int64_t)i * tk8;
      const f32 *pr = pg + (int64_t)i * tk;
      int32_t live = causal ? i + 1 : tk;
      if (live > tk) live = tk;
      const int32_t live4 = (live + 3) & ~3;
      if (ug) {
        const f32 *ur = ug + (int64_t)i * tk;
        for (int32_t j = 0; j < live4; j += 4) wasm_v128_store(dr + j, wasm_f32x4_mul(wasm_v128_load(dr + j), drop4(ur + j, vkeep, vinv)));
      } else if (hashed) {
        const int32_t e0 = (int32_t)(((uint32_t)g * (uint32_t)tq + (uint32_t)i) * (uint32_t)tk); /* wraps: only hashed */
        for (int32_t j = 0; j < live4; j += 4) wasm_v128_store(dr + j, wasm_f32x4_mul(wasm_v128_load(dr + j), drop4h(e0 + j, vseed, vthr, vinv)));
      }
      v128_t acc = wasm_f32x4_splat(0.0f);
      for (int32_t j = 0; j < live4; j += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(dr + j), wasm_v128_load(pr + j)));
      const v128_t dot = wasm_f32x4_splat(hsum(acc));
      for (int32_t j = 0; j < live4; j += 4)
        wasm_v128_store(dr + j, wasm_f32x4_mul(vscale, wasm_f32x4_mul(wasm_v128_load(pr + j), wasm_f32x4_sub(wasm_v128_load(dr + j), dot))));
      for (int32_t j = live4; j < tk8; j += 4) wasm_v128_store(dr + j, wasm_f32x4_splat(0.0f));
    }
    /* dV = Pdᵀ·dO: Pᵀ read in place without dropout, else Pd transposed into tr. */
    gather(dog, os, cb, tq, dv); /* contiguous B rows, as in the forward pass */
    if (ug || hashed) {
      for (int32_t i = 0; i < tq; i++) {
        const f32 *pr = pg + (int64_t)i * tk;
        if (ug) {
          const f32 *ur = ug + (int64_t)i * tk;
          for (int32_t j = 0; j < tk; j++) tr[(int64_t)j * tq + i] = pr[j] * drop1(ur[j], keep, inv);
        } else {
          const int32_t e0 = (int32_t)(((uint32_t)g * (uint32_t)tq + (uint32_t)i) * (uint32_t)tk); /* wraps: only hashed */
          for (int32_t j = 0; j < tk; j++) tr[(int64_t)j * tq + i] = pr[j] * drop1h(e0 + j, seed, thr, inv);
        }
      }
      mm(tr, tq, 1, cb, dv, dvg, dvs, tk, dv, tq, causal ? 2 : 0);
    } else {
      mm(pg, 1, tk, cb, dv, dvg, dvs, tk, dv, tq, causal ? 2 : 0);
    }
    /* dK = dSᵀ·Q (dSᵀ read in place), dQ = dS·K. */
    gather(qg, qs, cb, tq, dk);
    mm(ds, 1, tk8, cb, dk, dkg, dks, tk, dk, tq, causal ? 2 : 0);
    gather(kg, ks, cb, tk, dk);
    mm(ds, tk8, 1, cb, dk, dqg, dqs, tq, dk, tk, causal ? 1 : 0);
  }
}

/*
 * dst[r·ds + c] = src[r·ss + c] for r < rows, c < cols (strides and cols in floats): packs the Q, K and
 * V projection kernels [D, H·d] side by side into one [D, H·(2·dk + dv)] operand, and splits its
 * gradient back (the fused self-attention op, backends/attention.ts).
 */
__attribute__((export_name("attn_copy_cols")))
void attn_copy_cols(const f32 *src, int32_t ss, f32 *dst, int32_t ds, int32_t rows, int32_t cols) {
  for (int32_t r = 0; r < rows; r++, src += ss, dst += ds) {
    int32_t c = 0;
    for (; c + 4 <= cols; c += 4) wasm_v128_store(dst + c, wasm_v128_load(src + c));
    for (; c < cols; c++) dst[c] = src[c];
  }
}

/*
 * The sequence models' small ops, kept here beside the attention they feed (backends/sequenceOps.ts):
 * an Embedding's gradient (its lookup is kernels.ts's GatherV2), and the gradient of a mean over the time axis
 * (GlobalAveragePooling1D).
 */

/* dtable [vocab, d] = Σ_i onehot(ids[i]) ⊗ dy[i, :] (ids outside [0, vocab) add nothing). */
__attribute__((export_name("emb_grad")))
void emb_grad(const f32 *dy, const int32_t *ids, f32 *dtable, int32_t n, int32_t d, int32_t vocab) {
  const int64_t total = (int64_t)vocab * d;
  int64_t z = 0;
  for (; z + 4 <= total; z += 4) wasm_v128_store(dtable + z, wasm_f32x4_splat(0.0f));
  for (; z < total; z++) dtable[z] = 0.0f;
  for (int32_t i = 0; i < n; i++, dy += d) {
    const int32_t r = ids[i];
    if (r < 0 || r >= vocab) continue;
    f32 *dst = dtable + (int64_t)r * d;
    int32_t c = 0;
    for (; c + 4 <= d; c += 4) wasm_v128_store(dst + c, wasm_f32x4_add(wasm_v128_load(dst + c), wasm_v128_load(dy + c)));
    for (; c < d; c++) dst[c] += dy[c];
  }
}

/* dx [b, t, d] = dy [b, d] / t, broadcast over the t steps (the gradient of a mean over axis 1). */
__attribute__((export_name("seq_mean_grad")))
void seq_mean_grad(const f32 *dy, f32 *dx, int32_t b, int32_t t, int32_t d, int32_t t_bits) {
  const f32 tf = bits_float(t_bits);
  const v128_t vt = wasm_f32x4_splat(tf);
  for (int32_t i = 0; i < b; i++, dy += d)
    for (int32_t s = 0; s < t; s++, dx += d) {
      int32_t c = 0;
      for (; c + 4 <= d; c += 4) wasm_v128_store(dx + c, wasm_f32x4_div(wasm_v128_load(dy + c), vt));
      for (; c < d; c++) dx[c] = dy[c] / tf;
    }
}

/*
 * Dropout of n floats with the attention's hashed mask (element e kept when fmix32(e·0x9E3779B1 + seed)'s
 * top 24 bits are below keep·2^24): y = x/keep where kept, else 0. The same call with the same seed on dy
 * is the gradient (nothing stored or drawn in JavaScript).
 */
__attribute__((export_name("seq_dropout")))
void seq_dropout(const f32 *x, f32 *y, int32_t n, int32_t keep_bits, int32_t seed) {
  const f32 keep = bits_float(keep_bits), inv = 1.0f / keep;
  const int32_t thr = (int32_t)(keep * 16777216.0f);
  const v128_t vseed = wasm_i32x4_splat(seed), vthr = wasm_i32x4_splat(thr), vinv = wasm_f32x4_splat(inv);
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_mul(wasm_v128_load(x + i), drop4h(i, vseed, vthr, vinv)));
  for (; i < n; i++) y[i] = x[i] * drop1h(i, seed, thr, inv);
}
