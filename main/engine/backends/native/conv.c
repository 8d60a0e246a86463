/*
 * 3x3 stride-1 convolutions by Winograd F(2x2, 3x3), NHWC float32, where they beat XNNPACK
 * (backends/conv.ts measures and routes). Same rules as kernels.c: stack-free leaf functions on heap
 * offsets, no data, no calls (build.mjs checks). Export names are prefixed conv_.
 *
 * y = A^T [ (G g G^T) ⊙ (B^T d B) ] A per 2x2 output tile (d: the 4x4 input patch), summed over input
 * channels: the element-wise product over channels is 16 matrix products [tiles, C]·[C, K], i.e.
 * 16·C·K multiply-adds per 4 outputs instead of 36·C·K (2.25x fewer). Only additions and halvings in
 * the transforms (B, A have entries 0/±1, G 0/±½/1): rounding stays within a few ulps of a direct sum.
 *
 * Work is done in blocks of `tb` tiles (tb % 4 == 0) so that the transformed input V [16][tb][C] and
 * the products M [16][tb][K] stay in cache: per block, input transform -> 16 products -> output
 * transform (+ bias + activation) straight into y.
 */
// layerforge: relaxed-simd
#include "simd.h"
#include "winograd.h"


/*
 * u[16][c4][k] = G g G^T for every (input channel, filter); g is tfjs's [3][3][c][k] filter; rows
 * c .. c4-1 (c4: c rounded up to 4) are zeros. k % 4 == 0.
 */
__attribute__((export_name("conv_wino_filter")))
void conv_wino_filter(const f32 *g, f32 *u, int32_t c, int32_t k, int32_t c4) {
  const int64_t ck = (int64_t)c * k, uk = (int64_t)c4 * k;
  for (int32_t e = 0; e < 16; e++)
    if (c4 > c) __builtin_memset(u + e * uk + ck, 0, (unsigned long)((c4 - c) * k) * sizeof(f32));
  const v128_t half = wasm_f32x4_splat(0.5f);
  for (int32_t ci = 0; ci < c; ci++)
    for (int32_t j = 0; j < k; j += 4) {
      const f32 *p = g + (int64_t)ci * k + j;
      const v128_t g00 = wasm_v128_load(p), g01 = wasm_v128_load(p + ck), g02 = wasm_v128_load(p + 2 * ck);
      const v128_t g10 = wasm_v128_load(p + 3 * ck), g11 = wasm_v128_load(p + 4 * ck), g12 = wasm_v128_load(p + 5 * ck);
      const v128_t g20 = wasm_v128_load(p + 6 * ck), g21 = wasm_v128_load(p + 7 * ck), g22 = wasm_v128_load(p + 8 * ck);
      /* Rows: t = G g (4 x 3). */
#define ROWS(s0, s1, s2, a0, a1, a2, a3)                                                       \
  const v128_t a0 = s0;                                                                        \
  const v128_t a1 = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_add(s0, s1), s2));          \
  const v128_t a2 = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_sub(s0, s1), s2));          \
  const v128_t a3 = s2;
      ROWS(g00, g10, g20, t00, t10, t20, t30)
      ROWS(g01, g11, g21, t01, t11, t21, t31)
      ROWS(g02, g12, g22, t02, t12, t22, t32)
      /* Columns: u = t G^T (4 x 4). */
      ROWS(t00, t01, t02, u00, u01, u02, u03)
      ROWS(t10, t11, t12, u10, u11, u12, u13)
      ROWS(t20, t21, t22, u20, u21, u22, u23)
      ROWS(t30, t31, t32, u30, u31, u32, u33)
#undef ROWS
      f32 *q = u + (int64_t)ci * k + j;
      wasm_v128_store(q, u00); wasm_v128_store(q + uk, u01); wasm_v128_store(q + 2 * uk, u02); wasm_v128_store(q + 3 * uk, u03);
      wasm_v128_store(q + 4 * uk, u10); wasm_v128_store(q + 5 * uk, u11); wasm_v128_store(q + 6 * uk, u12); wasm_v128_store(q + 7 * uk, u13);
      wasm_v128_store(q + 8 * uk, u20); wasm_v128_store(q + 9 * uk, u21); wasm_v128_store(q + 10 * uk, u22); wasm_v128_store(q + 11 * uk, u23);
      wasm_v128_store(q + 12 * uk, u30); wasm_v128_store(q + 13 * uk, u31); wasm_v128_store(q + 14 * uk, u32); wasm_v128_store(q + 15 * uk, u33);
    }
}

/* B^T applied to 4 values: (d0 - d2, d1 + d2, d2 - d1, d1 - d3). */
#define BT(d0, d1, d2, d3, o0, o1, o2, o3) \
  const v128_t o0 = wasm_f32x4_sub(d0, d2); \
  const v128_t o1 = wasm_f32x4_add(d1, d2); \
  const v128_t o2 = wasm_f32x4_sub(d2, d1); \
  const v128_t o3 = wasm_f32x4_sub(d1, d3);

/*
 * Forward convolution over tiles [t_begin, t_end) of the nb x ceil(oh/2) x ceil(ow/2) output tiles, in
 * blocks of tb tiles; with next != 0, both threads claim the blocks from the counter *next (a thread that is
 * descheduled takes fewer blocks instead of making the other wait); each needs its own scratch.
 *   x [nb][h][w][c], u [16][c4][k] (conv_wino_filter; c4: c rounded up to 4, the extra input channels
 *   read as zeros), bias [k] or 0, y [nb][oh][ow][k];
 *   output (oy, ox) reads x rows oy - pad_top .. oy - pad_top + 2 (outside: zeros);
 *   act: 0 linear, 1 relu, 2 relu6. k % 8 == 0, tb % 4 == 0; scratch: 16·tb·(c4 + k) floats.
 */
__attribute__((export_name("conv_wino_fwd")))
void conv_wino_fwd(const f32 *x, const f32 *u, const f32 *bias, f32 *y, f32 *scratch, int32_t nb, int32_t h, int32_t w,
                   int32_t c, int32_t oh, int32_t ow, int32_t k, int32_t pad_top, int32_t pad_left, int32_t act,
                   int32_t t_begin, int32_t t_end, int32_t tb, int32_t *next) {
  const int32_t th = (oh + 1) >> 1, tw = (ow + 1) >> 1;
  const int32_t per_image = th * tw;
  if (t_end > nb * per_image) t_end = nb * per_image;
  const int32_t c4 = (c + 3) & ~3, cfull = c & ~3;
  f32 *V = scratch;                         /* [16][tb][c4] */
  f32 *M = scratch + (int64_t)16 * tb * c4; /* [16][tb][k] */
  const int64_t vs = (int64_t)tb * c4, ms = (int64_t)tb * k;
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  /* Blocks of tb tiles: claimed from *next by both threads (each with the whole range), or [t_begin, t_end) in order. */
  for (int32_t t0 = next ? claim_chunk(next, t_begin, tb) : t_begin; t0 < t_end; t0 = next ? claim_chunk(next, t_begin, tb) : t0 + tb) {
    const int32_t n = t_end - t0 < tb ? t_end - t0 : tb;
    /* 1. Input transform of n tiles. */
    for (int32_t i = 0; i < n; i++) {
      const int32_t t = t0 + i;
      WINO_TILE(t)
      const int32_t iy = 2 * ty - pad_top, ix = 2 * tx - pad_left;
      /* Rows / columns outside the image read a clamped address and are masked to zero. */
      WINO_RC(0) WINO_RC(1) WINO_RC(2) WINO_RC(3)
      const int32_t inside = iy >= 0 && iy + 3 < h && ix >= 0 && ix + 3 < w;
      f32 *v = V + (int64_t)i * c4;
      for (int32_t ch = 0; ch < c4; ch += 4) {
#define LD(r, s) const v128_t d##r##s = inside ? WINO_LD_IN(r, s) : WINO_LD_EDGE(r, s);
        LD(0, 0) LD(0, 1) LD(0, 2) LD(0, 3)
        LD(1, 0) LD(1, 1) LD(1, 2) LD(1, 3)
        LD(2, 0) LD(2, 1) LD(2, 2) LD(2, 3)
        LD(3, 0) LD(3, 1) LD(3, 2) LD(3, 3)
#undef LD
        /* Columns of d: e = B^T d (per column s). */
        BT(d00, d10, d20, d30, e00, e10, e20, e30)
        BT(d01, d11, d21, d31, e01, e11, e21, e31)
        BT(d02, d12, d22, d32, e02, e12, e22, e32)
        BT(d03, d13, d23, d33, e03, e13, e23, e33)
        /* Rows of e: v = e B. */
        BT(e00, e01, e02, e03, v00, v01, v02, v03)
        BT(e10, e11, e12, e13, v10, v11, v12, v13)
        BT(e20, e21, e22, e23, v20, v21, v22, v23)
        BT(e30, e31, e32, e33, v30, v31, v32, v33)
        f32 *q = v + ch;
        wasm_v128_store(q, v00); wasm_v128_store(q + vs, v01); wasm_v128_store(q + 2 * vs, v02); wasm_v128_store(q + 3 * vs, v03);
        wasm_v128_store(q + 4 * vs, v10); wasm_v128_store(q + 5 * vs, v11); wasm_v128_store(q + 6 * vs, v12); wasm_v128_store(q + 7 * vs, v13);
        wasm_v128_store(q + 8 * vs, v20); wasm_v128_store(q + 9 * vs, v21); wasm_v128_store(q + 10 * vs, v22); wasm_v128_store(q + 11 * vs, v23);
        wasm_v128_store(q + 12 * vs, v30); wasm_v128_store(q + 13 * vs, v31); wasm_v128_store(q + 14 * vs, v32); wasm_v128_store(q + 15 * vs, v33);
      }
    }
    /* 2. Sixteen products M[e] (n4 x k) = V[e] (n4 x c) · U[e] (c x k); rows past n are scratch garbage, never stored. */
    const int32_t n4 = (n + 3) & ~3;
    for (int32_t e = 0; e < 16; e++) {
      const f32 *Ve = V + e * vs, *Ue = u + (int64_t)e * c4 * k;
      f32 *Me = M + e * ms;
      for (int32_t j = 0; j < k; j += 8)
        for (int32_t i = 0; i < n4; i += 4) tile4x8(Ve + (int64_t)i * c4, c4, Ue + j, k, Me + (int64_t)i * k + j, k, c4, 0);
    }
    /* 3. Output transform: y = A^T m A, + bias, activation, into the (up to) 2x2 outputs inside the image. */
    for (int32_t i = 0; i < n; i++) {
      const int32_t t = t0 + i;
      WINO_TILE(t)
      const int32_t oy = 2 * ty, ox = 2 * tx;
      const int32_t has_r = oy + 1 < oh, has_c = ox + 1 < ow;
      f32 *y0 = y + (((int64_t)b * oh + oy) * ow + ox) * k;
      f32 *y1 = y0 + (int64_t)ow * k;
      const f32 *m = M + (int64_t)i * k;
      for (int32_t j = 0; j < k; j += 4) {
        const f32 *q = m + j;
#define LM(a, bq) const v128_t m##a##bq = wasm_v128_load(q + (4 * a + bq) * ms);
        LM(0, 0) LM(0, 1) LM(0, 2) LM(0, 3)
        LM(1, 0) LM(1, 1) LM(1, 2) LM(1, 3)
        LM(2, 0) LM(2, 1) LM(2, 2) LM(2, 3)
        LM(3, 0) LM(3, 1) LM(3, 2) LM(3, 3)
#undef LM
        /* s = A^T m (2 x 4), then y = s A (2 x 2). */
#define AT(a0, a1, a2, a3, o0, o1) \
  const v128_t o0 = wasm_f32x4_add(wasm_f32x4_add(a0, a1), a2); \
  const v128_t o1 = wasm_f32x4_sub(wasm_f32x4_sub(a1, a2), a3);
        AT(m00, m10, m20, m30, s00, s10)
        AT(m01, m11, m21, m31, s01, s11)
        AT(m02, m12, m22, m32, s02, s12)
        AT(m03, m13, m23, m33, s03, s13)
        AT(s00, s01, s02, s03, r00, r01)
        AT(s10, s11, s12, s13, r10, r11)
#undef AT
        v128_t o00 = r00, o01 = r01, o10 = r10, o11 = r11;
        if (bias) {
          const v128_t bv = wasm_v128_load(bias + j);
          o00 = wasm_f32x4_add(o00, bv); o01 = wasm_f32x4_add(o01, bv);
          o10 = wasm_f32x4_add(o10, bv); o11 = wasm_f32x4_add(o11, bv);
        }
        if (act != 0) {
          /* max(x, 0) as tfjs: NaN stays NaN (pmax would return 0 for some orderings). */
          o00 = wasm_v128_bitselect(zero, o00, wasm_f32x4_lt(o00, zero));
          o01 = wasm_v128_bitselect(zero, o01, wasm_f32x4_lt(o01, zero));
          o10 = wasm_v128_bitselect(zero, o10, wasm_f32x4_lt(o10, zero));
          o11 = wasm_v128_bitselect(zero, o11, wasm_f32x4_lt(o11, zero));
          if (act == 2) {
            o00 = wasm_v128_bitselect(six, o00, wasm_f32x4_gt(o00, six));
            o01 = wasm_v128_bitselect(six, o01, wasm_f32x4_gt(o01, six));
            o10 = wasm_v128_bitselect(six, o10, wasm_f32x4_gt(o10, six));
            o11 = wasm_v128_bitselect(six, o11, wasm_f32x4_gt(o11, six));
          }
        }
        wasm_v128_store(y0 + j, o00);
        if (has_c) wasm_v128_store(y0 + k + j, o01);
        if (has_r) {
          wasm_v128_store(y1 + j, o10);
          if (has_c) wasm_v128_store(y1 + k + j, o11);
        }
      }
    }
  }
}

/*
 * Winograd F(4x4, 3x3): 6x6 input tiles, 4x4 outputs, 36 products per tile (36·C·K multiply-adds per
 * 16 outputs instead of 144·C·K: 4x fewer), at the price of larger transforms and constants up to 8 in
 * them (rounding grows; backends/conv.test.ts measures it against cpu).
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 */
#define G6(g0, g1, g2, o0, o1, o2, o3, o4, o5)                     \
  const v128_t o0 = MUL(g0, 0.25f);                                \
  const v128_t o1 = MUL(ADD(ADD(g0, g1), g2), -1.0f / 6.0f);       \
  const v128_t o2 = MUL(ADD(SUB(g0, g1), g2), -1.0f / 6.0f);       \
  const v128_t o3 = ADD(ADD(MUL(g0, 1.0f / 24.0f), MUL(g1, 1.0f / 12.0f)), MUL(g2, 1.0f / 6.0f)); \
  const v128_t o4 = ADD(SUB(MUL(g0, 1.0f / 24.0f), MUL(g1, 1.0f / 12.0f)), MUL(g2, 1.0f / 6.0f)); \
  const v128_t o5 = g2;

/* u[36][c4][k] = G g G^T; rows c .. c4-1 zero. k % 4 == 0. */
__attribute__((export_name("conv_wino4_filter")))
void conv_wino4_filter(const f32 *g, f32 *u, int32_t c, int32_t k, int32_t c4) {
  const int64_t ck = (int64_t)c * k, uk = (int64_t)c4 * k;
  for (int32_t e = 0; e < 36; e++)
    if (c4 > c) __builtin_memset(u + e * uk + ck, 0, (unsigned long)((c4 - c) * k) * sizeof(f32));
  for (int32_t ci = 0; ci < c; ci++)
    for (int32_t j = 0; j < k; j += 4) {
      const f32 *p = g + (int64_t)ci * k + j;
      const v128_t g00 = wasm_v128_load(p), g01 = wasm_v128_load(p + ck), g02 = wasm_v128_load(p + 2 * ck);
      const v128_t g10 = wasm_v128_load(p + 3 * ck), g11 = wasm_v128_load(p + 4 * ck), g12 = wasm_v128_load(p + 5 * ck);
      const v128_t g20 = wasm_v128_load(p + 6 * ck), g21 = wasm_v128_load(p + 7 * ck), g22 = wasm_v128_load(p + 8 * ck);
      G6(g00, g10, g20, t00, t10, t20, t30, t40, t50)
      G6(g01, g11, g21, t01, t11, t21, t31, t41, t51)
      G6(g02, g12, g22, t02, t12, t22, t32, t42, t52)
      f32 *q = u + (int64_t)ci * k + j;
#define GROW(r)                                                     \
  {                                                                 \
    G6(t##r##0, t##r##1, t##r##2, o0, o1, o2, o3, o4, o5)           \
    wasm_v128_store(q + (6 * r + 0) * uk, o0); wasm_v128_store(q + (6 * r + 1) * uk, o1); \
    wasm_v128_store(q + (6 * r + 2) * uk, o2); wasm_v128_store(q + (6 * r + 3) * uk, o3); \
    wasm_v128_store(q + (6 * r + 4) * uk, o4); wasm_v128_store(q + (6 * r + 5) * uk, o5); \
  }
      GROW(0) GROW(1) GROW(2) GROW(3) GROW(4) GROW(5)
#undef GROW
    }
}

/* A^T on 6 values. */
#define AT6(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                         \
  const v128_t o0##_a = ADD(m1, m2), o0##_b = SUB(m1, m2), o0##_c = ADD(m3, m4), o0##_d = SUB(m3, m4); \
  const v128_t o0 = ADD(ADD(m0, o0##_a), o0##_c);                           \
  const v128_t o1 = ADD(o0##_b, MUL(o0##_d, 2.0f));                         \
  const v128_t o2 = ADD(o0##_a, MUL(o0##_c, 4.0f));                         \
  const v128_t o3 = ADD(ADD(o0##_b, MUL(o0##_d, 8.0f)), m5);

/*
 * As conv_wino_fwd with F(4x4, 3x3): tiles of 4x4 outputs (nb x ceil(oh/4) x ceil(ow/4)), u from
 * conv_wino4_filter [36][c4][k]; scratch 36·tb·(c4 + k) floats per thread. k % 8 == 0, tb % 4 == 0.
 * pool != 0: y is the 2x2 max pool (stride 2, valid) of the convolution, [nb][oh/2][ow/2][k].
 * res != 0 (pool == 0): a residual [nb][oh][ow][k] added before the activation (act(conv + bias + res):
 * a ResNet block's conv + BN, Add and ReLU in one pass).
 */
__attribute__((export_name("conv_wino4_fwd")))
void conv_wino4_fwd(const f32 *x, const f32 *u, const f32 *bias, f32 *y, f32 *scratch, int32_t nb, int32_t h, int32_t w,
                    int32_t c, int32_t oh, int32_t ow, int32_t k, int32_t pad_top, int32_t pad_left, int32_t act,
                    int32_t t_begin, int32_t t_end, int32_t tb, int32_t pool, const f32 *res, int32_t *next) {
  const int32_t th = (oh + 3) >> 2, tw = (ow + 3) >> 2;
  const int32_t ph = oh >> 1, pw = ow >> 1;
  const int32_t per_image = th * tw;
  if (t_end > nb * per_image) t_end = nb * per_image;
  const int32_t c4 = (c + 3) & ~3, cfull = c & ~3;
  f32 *V = scratch;
  f32 *M = scratch + (int64_t)36 * tb * c4;
  const int64_t vs = (int64_t)tb * c4, ms = (int64_t)tb * k;
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  /* Blocks of tb tiles: claimed from *next by both threads (each with the whole range), or [t_begin, t_end) in order. */
  for (int32_t t0 = next ? claim_chunk(next, t_begin, tb) : t_begin; t0 < t_end; t0 = next ? claim_chunk(next, t_begin, tb) : t0 + tb) {
    const int32_t n = t_end - t0 < tb ? t_end - t0 : tb;
    for (int32_t i = 0; i < n; i++) {
      const int32_t t = t0 + i;
      WINO4_INPUT_TILE(t)
      f32 *v = V + (int64_t)i * c4;
      for (int32_t ch = 0; ch < c4; ch += 4) {
#define LD(r, s) const v128_t d##r##s = inside ? WINO_LD_IN(r, s) : WINO_LD_EDGE(r, s);
#define LDROW(r) LD(r, 0) LD(r, 1) LD(r, 2) LD(r, 3) LD(r, 4) LD(r, 5)
        LDROW(0) LDROW(1) LDROW(2) LDROW(3) LDROW(4) LDROW(5)
#undef LDROW
#undef LD
        /* Columns: e = B^T d. */
#define COL(s) BT6(d0##s, d1##s, d2##s, d3##s, d4##s, d5##s, e0##s, e1##s, e2##s, e3##s, e4##s, e5##s)
        COL(0) COL(1) COL(2) COL(3) COL(4) COL(5)
#undef COL
        f32 *q = v + ch;
        /* Rows: v = e B, stored as V[6r + s]. */
#define ROW(r)                                                                                              \
  {                                                                                                         \
    BT6(e##r##0, e##r##1, e##r##2, e##r##3, e##r##4, e##r##5, o0, o1, o2, o3, o4, o5)                      \
    wasm_v128_store(q + (6 * r + 0) * vs, o0); wasm_v128_store(q + (6 * r + 1) * vs, o1);                   \
    wasm_v128_store(q + (6 * r + 2) * vs, o2); wasm_v128_store(q + (6 * r + 3) * vs, o3);                   \
    wasm_v128_store(q + (6 * r + 4) * vs, o4); wasm_v128_store(q + (6 * r + 5) * vs, o5);                   \
  }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
      }
    }
    const int32_t n4 = (n + 3) & ~3;
    for (int32_t e = 0; e < 36; e++) {
      const f32 *Ve = V + e * vs, *Ue = u + (int64_t)e * c4 * k;
      f32 *Me = M + e * ms;
      for (int32_t j = 0; j < k; j += 8)
        for (int32_t i = 0; i < n4; i += 4) tile4x8(Ve + (int64_t)i * c4, c4, Ue + j, k, Me + (int64_t)i * k + j, k, c4, 0);
    }
    for (int32_t i = 0; i < n; i++) {
      const int32_t t = t0 + i;
      WINO_TILE(t)
      const int32_t oy = 4 * ty, ox = 4 * tx;
      const int32_t rows = oh - oy < 4 ? oh - oy : 4, cols = ow - ox < 4 ? ow - ox : 4;
      f32 *yt = y + (((int64_t)b * oh + oy) * ow + ox) * k;
      const f32 *m = M + (int64_t)i * k;
      for (int32_t j = 0; j < k; j += 4) {
        const f32 *q = m + j;
        const v128_t bv = bias ? wasm_v128_load(bias + j) : zero;
        /* Columns: s = A^T m (4 x 6). */
#define COL(s) \
  const v128_t m0##s = wasm_v128_load(q + (0 + s) * ms), m1##s = wasm_v128_load(q + (6 + s) * ms), m2##s = wasm_v128_load(q + (12 + s) * ms); \
  const v128_t m3##s = wasm_v128_load(q + (18 + s) * ms), m4##s = wasm_v128_load(q + (24 + s) * ms), m5##s = wasm_v128_load(q + (30 + s) * ms); \
  AT6(m0##s, m1##s, m2##s, m3##s, m4##s, m5##s, s0##s, s1##s, s2##s, s3##s)
        COL(0) COL(1) COL(2) COL(3) COL(4) COL(5)
#undef COL
#define ACT(o)                                                                  \
  o = ADD(o, bv);                                                               \
  if (act != 0) {                                                               \
    o = wasm_v128_bitselect(zero, o, wasm_f32x4_lt(o, zero));                   \
    if (act == 2) o = wasm_v128_bitselect(six, o, wasm_f32x4_gt(o, six));       \
  }
#define OUTROW(r)                                                                                  \
  if (r < rows) {                                                                                  \
    AT6(s##r##0, s##r##1, s##r##2, s##r##3, s##r##4, s##r##5, y##r##0, y##r##1, y##r##2, y##r##3) \
    v128_t o0 = y##r##0, o1 = y##r##1, o2 = y##r##2, o3 = y##r##3;                                 \
    const int64_t at = (int64_t)r * ow * k + j;                                                    \
    if (res) {                                                                                     \
      const f32 *rr = res + (yt - y) + at;                                                         \
      o0 = ADD(o0, wasm_v128_load(rr));                                                            \
      if (cols > 1) o1 = ADD(o1, wasm_v128_load(rr + k));                                          \
      if (cols > 2) o2 = ADD(o2, wasm_v128_load(rr + 2 * k));                                      \
      if (cols > 3) o3 = ADD(o3, wasm_v128_load(rr + 3 * k));                                      \
    }                                                                                              \
    ACT(o0) ACT(o1) ACT(o2) ACT(o3)                                                                \
    f32 *yr = yt + at;                                                                             \
    wasm_v128_store(yr, o0);                                                                       \
    if (cols > 1) wasm_v128_store(yr + k, o1);                                                     \
    if (cols > 2) wasm_v128_store(yr + 2 * k, o2);                                                 \
    if (cols > 3) wasm_v128_store(yr + 3 * k, o3);                                                 \
  }
        if (pool) {
          /* A 2x2 max pool (stride 2, valid) of the tile's 4x4 outputs: each tile gives 2x2 pooled
             outputs (tiles start at even rows and columns); bias and activation after the max (both
             monotone: the same values as before it). Pooled outputs past oh/2, ow/2 are not stored. */
          AT6(s00, s01, s02, s03, s04, s05, y00, y01, y02, y03)
          AT6(s10, s11, s12, s13, s14, s15, y10, y11, y12, y13)
          AT6(s20, s21, s22, s23, s24, s25, y20, y21, y22, y23)
          AT6(s30, s31, s32, s33, s34, s35, y30, y31, y32, y33)
          v128_t q00 = wasm_f32x4_max(wasm_f32x4_max(y00, y01), wasm_f32x4_max(y10, y11));
          v128_t q01 = wasm_f32x4_max(wasm_f32x4_max(y02, y03), wasm_f32x4_max(y12, y13));
          v128_t q10 = wasm_f32x4_max(wasm_f32x4_max(y20, y21), wasm_f32x4_max(y30, y31));
          v128_t q11 = wasm_f32x4_max(wasm_f32x4_max(y22, y23), wasm_f32x4_max(y32, y33));
          ACT(q00) ACT(q01) ACT(q10) ACT(q11)
          const int32_t py = 2 * ty, px = 2 * tx;
          f32 *yp = y + (((int64_t)b * ph + py) * pw + px) * k + j;
          if (py < ph) {
            if (px < pw) wasm_v128_store(yp, q00);
            if (px + 1 < pw) wasm_v128_store(yp + k, q01);
          }
          if (py + 1 < ph) {
            if (px < pw) wasm_v128_store(yp + (int64_t)pw * k, q10);
            if (px + 1 < pw) wasm_v128_store(yp + (int64_t)pw * k + k, q11);
          }
          continue;
        }
        OUTROW(0) OUTROW(1) OUTROW(2) OUTROW(3)
#undef OUTROW
#undef ACT
      }
    }
  }
}

/*
 * Any convolution (kernel fh x fw, strides, NHWC, no dilation) as im2col + GEMM, for the shapes where
 * XNNPACK is slow (few input channels: an image's 1-3, lenet's 6): per block of pb output pixels, the
 * patches are gathered into A [pb][kc] (kc = fh·fw·c, tfjs's filter order [fh][fw][c][k]; zeros outside
 * the image), then M [pb][k8] = A · W by 4x8 register tiles (W [kc][k8]: the filter, its columns padded
 * to k8 = k rounded up to 8 by conv_gemm_pack when k % 8 != 0), then bias + activation into y's k
 * columns. Pixels [p_begin, p_end) of nb·oh·ow (two threads take disjoint ranges); scratch per thread:
 * pb·(kc + k8) floats, pb % 4 == 0. pool != 0: y is the 2x2 max pool (stride 2, valid) of the
 * convolution, [nb][oh/2][ow/2][k]; the pixels are then taken window by window (4 consecutive A rows
 * = one window, pixels [p_begin, p_end) of nb·(oh/2)·(ow/2)·4, p_begin % 4 == 0).
 */
__attribute__((export_name("conv_gemm_pack")))
void conv_gemm_pack(const f32 *g, f32 *wp, int32_t kc, int32_t k, int32_t k8) {
  for (int32_t r = 0; r < kc; r++)
    for (int32_t j = 0; j < k8; j++) wp[(int64_t)r * k8 + j] = j < k ? g[(int64_t)r * k + j] : 0.0f;
}

__attribute__((export_name("conv_gemm_fwd")))
void conv_gemm_fwd(const f32 *x, const f32 *wp, const f32 *bias, f32 *y, f32 *scratch, int32_t nb, int32_t h, int32_t w,
                   int32_t c, int32_t oh, int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t sh, int32_t sw,
                   int32_t pad_top, int32_t pad_left, int32_t act, int32_t p_begin, int32_t p_end, int32_t pb, int32_t pool) {
  const int32_t ph = oh >> 1, pw = ow >> 1;
  const int32_t per_image = pool ? 4 * ph * pw : oh * ow;
  if (p_end > nb * per_image) p_end = nb * per_image;
  const int32_t kc = fh * fw * c, k8 = (k + 7) & ~7, rowlen = fw * c;
  f32 *A = scratch;                     /* [pb][kc] */
  f32 *M = scratch + (int64_t)pb * kc;  /* [pb][k8] */
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  /* The first pixel's (image, row, column), then stepped along (no division per pixel). */
  int32_t cb = p_begin / per_image, coy = (p_begin - cb * per_image) / ow, cox = p_begin - cb * per_image - coy * ow;
  for (int32_t p0 = p_begin; p0 < p_end; p0 += pb) {
    const int32_t n = p_end - p0 < pb ? p_end - p0 : pb;
    const int32_t n4 = (n + 3) & ~3;
    /* Products straight into y where its rows are k8 wide and the block's 4-row tiles all lie in y. */
    const int32_t direct = k == k8 && n == n4 && !pool;
    f32 *Mb = direct ? y + (int64_t)p0 * k : M;
    /* 1. Patches; rows n .. n4-1 are zeros (their products are never stored). */
    for (int32_t i = 0; i < n4; i++) {
      f32 *a = A + (int64_t)i * kc;
      if (i >= n) {
        for (int32_t q = 0; q < kc; q++) a[q] = 0.0f;
        continue;
      }
      int32_t b = cb, oy = coy, ox = cox;
      if (pool) {
        /* Pixel 4q + s: pooling window q (image, row, column), its output (2·row + s / 2, 2·column + s % 2). */
        const int32_t pq = p0 + i, q = pq >> 2, sub = pq & 3;
        b = q / (ph * pw);
        const int32_t r = q - b * ph * pw, wy = r / pw;
        oy = 2 * wy + (sub >> 1);
        ox = 2 * (r - wy * pw) + (sub & 1);
      } else if (++cox == ow) {
        cox = 0;
        if (++coy == oh) coy = 0, cb++;
      }
      const int32_t iy0 = oy * sh - pad_top, ix0 = ox * sw - pad_left;
      const int32_t full = ix0 >= 0 && ix0 + fw <= w;
      for (int32_t ky = 0; ky < fh; ky++, a += rowlen) {
        const int32_t iy = iy0 + ky;
        if (iy < 0 || iy >= h) {
          for (int32_t q = 0; q < rowlen; q++) a[q] = 0.0f;
          continue;
        }
        const f32 *src = x + (((int64_t)b * h + iy) * w + ix0) * c;
        if (full) {
          int32_t q = 0;
          for (; q + 4 <= rowlen; q += 4) wasm_v128_store(a + q, wasm_v128_load(src + q));
          for (; q < rowlen; q++) a[q] = src[q];
        } else {
          for (int32_t kx = 0; kx < fw; kx++) {
            const int32_t ix = ix0 + kx;
            if (ix >= 0 && ix < w)
              for (int32_t q = 0; q < c; q++) a[kx * c + q] = src[kx * c + q];
            else
              for (int32_t q = 0; q < c; q++) a[kx * c + q] = 0.0f;
          }
        }
      }
    }
    /* 2. M = A · W. */
    for (int32_t j = 0; j < k8; j += 8)
      for (int32_t i = 0; i < n4; i += 4) tile4x8(A + (int64_t)i * kc, kc, wp + j, k8, Mb + (int64_t)i * k8 + j, k8, kc, 0);
    /* 3. Bias, activation, into y's k columns. */
    if (direct && !bias && act == 0) continue;
    if (pool) {
      /* Max of each window's 4 rows (n is a multiple of 4 here), then bias and activation. */
      for (int32_t i = 0; i < n; i += 4) {
        const f32 *m = M + (int64_t)i * k8;
        f32 *yp = y + (int64_t)((p0 + i) >> 2) * k;
        for (int32_t j = 0; j < k; j += 4) {
          const int32_t left = k - j;
          v128_t o = wasm_f32x4_max(wasm_f32x4_max(wasm_v128_load(m + j), wasm_v128_load(m + k8 + j)),
                                    wasm_f32x4_max(wasm_v128_load(m + 2 * k8 + j), wasm_v128_load(m + 3 * k8 + j)));
          if (bias) o = wasm_f32x4_add(o, load_part(bias + j, left));
          if (act != 0) {
            o = wasm_v128_bitselect(zero, o, wasm_f32x4_lt(o, zero));
            if (act == 2) o = wasm_v128_bitselect(six, o, wasm_f32x4_gt(o, six));
          }
          store_part(yp + j, left, o);
        }
      }
      continue;
    }
    for (int32_t i = 0; i < n; i++) {
      const f32 *m = Mb + (int64_t)i * k8;
      f32 *yp = y + (int64_t)(p0 + i) * k;
      for (int32_t j = 0; j < k; j += 4) {
        const int32_t left = k - j;
        v128_t o = wasm_v128_load(m + j);
        if (bias) o = wasm_f32x4_add(o, load_part(bias + j, left));
        if (act != 0) {
          o = wasm_v128_bitselect(zero, o, wasm_f32x4_lt(o, zero));
          if (act == 2) o = wasm_v128_bitselect(six, o, wasm_f32x4_gt(o, six));
        }
        store_part(yp + j, left, o);
      }
    }
  }
}


/* 4x4 transpose: q_p = (a0[p], a1[p], a2[p], a3[p]). */
#define TRANSPOSE4(a0, a1, a2, a3, q0, q1, q2, q3)                 \
  const v128_t q0##_t0 = wasm_i32x4_shuffle(a0, a1, 0, 4, 1, 5);   \
  const v128_t q0##_t1 = wasm_i32x4_shuffle(a0, a1, 2, 6, 3, 7);   \
  const v128_t q0##_t2 = wasm_i32x4_shuffle(a2, a3, 0, 4, 1, 5);   \
  const v128_t q0##_t3 = wasm_i32x4_shuffle(a2, a3, 2, 6, 3, 7);   \
  const v128_t q0 = wasm_i32x4_shuffle(q0##_t0, q0##_t2, 0, 1, 4, 5); \
  const v128_t q1 = wasm_i32x4_shuffle(q0##_t0, q0##_t2, 2, 3, 6, 7); \
  const v128_t q2 = wasm_i32x4_shuffle(q0##_t1, q0##_t3, 0, 1, 4, 5); \
  const v128_t q3 = wasm_i32x4_shuffle(q0##_t1, q0##_t3, 2, 3, 6, 7);

/*
 * Direct convolution of a one-channel input (c == 1: a grayscale image, lenet5's first layer), stride 1,
 * no dilation. With one channel, x's row is contiguous across output columns, so the vectors run over
 * 4 consecutive output columns and the filter taps are splats: up to 8 output channels per pass, no
 * multiply spent on a channel padded to 8 (the GEMM path's k8) and no patch gathered. Per image, a
 * zero-padded copy P [oh + fh - 1][pw] of x is made in scratch (pw: ow rounded up to 4, plus fw - 1,
 * rounded up to 4), so no tap needs an edge test. g: tfjs's filter [fh][fw][1][k], read as [fh·fw][k].
 * The 4 columns x up to 8 channels are transposed on the way out (y is NHWC), bias and activation
 * (0 linear, 1 relu, 2 relu6) applied before. Output rows [r_begin, r_end) of nb·oh (two threads take
 * disjoint ranges); scratch per thread: (oh + fh - 1)·pw floats.
 */
#define C1_BODY(KK)                                                                                        \
  {                                                                                                        \
    v128_t a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;         \
    for (int32_t ky = 0; ky < fh; ky++) {                                                                  \
      const f32 *pr = P + (int64_t)(oy + ky) * pw + ox;                                                    \
      const f32 *gr = g + (int64_t)ky * fw * k + j0;                                                       \
      for (int32_t kx = 0; kx < fw; kx++, gr += k) {                                                       \
        const v128_t xv = wasm_v128_load(pr + kx);                                                         \
        a0 = ACC(a0, xv, wasm_v128_load32_splat(gr));                                                      \
        if (KK > 1) a1 = ACC(a1, xv, wasm_v128_load32_splat(gr + 1));                                      \
        if (KK > 2) a2 = ACC(a2, xv, wasm_v128_load32_splat(gr + 2));                                      \
        if (KK > 3) a3 = ACC(a3, xv, wasm_v128_load32_splat(gr + 3));                                      \
        if (KK > 4) a4 = ACC(a4, xv, wasm_v128_load32_splat(gr + 4));                                      \
        if (KK > 5) a5 = ACC(a5, xv, wasm_v128_load32_splat(gr + 5));                                      \
        if (KK > 6) a6 = ACC(a6, xv, wasm_v128_load32_splat(gr + 6));                                      \
        if (KK > 7) a7 = ACC(a7, xv, wasm_v128_load32_splat(gr + 7));                                      \
      }                                                                                                    \
    }                                                                                                      \
    C1_OUT(a0, 0) C1_OUT(a1, 1) C1_OUT(a2, 2) C1_OUT(a3, 3)                                                \
    if (KK > 4) { C1_OUT(a4, 4) C1_OUT(a5, 5) C1_OUT(a6, 6) C1_OUT(a7, 7) }                                \
    const int32_t cols = ow - ox < 4 ? ow - ox : 4;                                                        \
    f32 *yo = yr + (int64_t)ox * k + j0;                                                                   \
    {                                                                                                      \
      TRANSPOSE4(a0, a1, a2, a3, q0, q1, q2, q3)                                                           \
      const int32_t left = KK < 4 ? KK : 4;                                                                \
      store_part(yo, left, q0);                                                                            \
      if (cols > 1) store_part(yo + k, left, q1);                                                          \
      if (cols > 2) store_part(yo + 2 * k, left, q2);                                                      \
      if (cols > 3) store_part(yo + 3 * k, left, q3);                                                      \
    }                                                                                                      \
    if (KK > 4) {                                                                                          \
      TRANSPOSE4(a4, a5, a6, a7, q4, q5, q6, q7)                                                           \
      const int32_t left = KK - 4;                                                                         \
      store_part(yo + 4, left, q4);                                                                        \
      if (cols > 1) store_part(yo + k + 4, left, q5);                                                      \
      if (cols > 2) store_part(yo + 2 * k + 4, left, q6);                                                  \
      if (cols > 3) store_part(yo + 3 * k + 4, left, q7);                                                  \
    }                                                                                                      \
  }

__attribute__((export_name("conv_c1_fwd")))
void conv_c1_fwd(const f32 *x, const f32 *g, const f32 *bias, f32 *y, f32 *scratch, int32_t nb, int32_t h, int32_t w,
                 int32_t oh, int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t pad_top, int32_t pad_left, int32_t act,
                 int32_t r_begin, int32_t r_end) {
  const int32_t ow4 = (ow + 3) & ~3, pw = (ow4 + fw - 1 + 3) & ~3, ph = oh + fh - 1;
  f32 *P = scratch;
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  if (r_end > nb * oh) r_end = nb * oh;
  int32_t cur = -1;
  for (int32_t r = r_begin; r < r_end; r++) {
    const int32_t b = r / oh, oy = r - b * oh;
    if (b != cur) {
      cur = b;
      const f32 *xb = x + (int64_t)b * h * w;
      for (int32_t pr = 0; pr < ph; pr++) {
        const int32_t iy = pr - pad_top;
        f32 *row = P + (int64_t)pr * pw;
        for (int32_t pc = 0; pc < pw; pc++) {
          const int32_t ix = pc - pad_left;
          row[pc] = iy >= 0 && iy < h && ix >= 0 && ix < w ? xb[(int64_t)iy * w + ix] : 0.0f;
        }
      }
    }
    f32 *yr = y + ((int64_t)b * oh + oy) * ow * k;
    for (int32_t j0 = 0; j0 < k; j0 += 8) {
      const int32_t kk = k - j0 < 8 ? k - j0 : 8;
#define C1_OUT(a, n)                                                             \
  if (bias) a = wasm_f32x4_add(a, wasm_v128_load32_splat(bias + j0 + (n < kk ? n : 0))); \
  if (act != 0) {                                                                \
    a = wasm_v128_bitselect(zero, a, wasm_f32x4_lt(a, zero));                    \
    if (act == 2) a = wasm_v128_bitselect(six, a, wasm_f32x4_gt(a, six));        \
  }
      for (int32_t ox = 0; ox < ow; ox += 4) {
        switch (kk) {
          case 1: C1_BODY(1) break;
          case 2: C1_BODY(2) break;
          case 3: C1_BODY(3) break;
          case 4: C1_BODY(4) break;
          case 5: C1_BODY(5) break;
          case 6: C1_BODY(6) break;
          case 7: C1_BODY(7) break;
          default: C1_BODY(8) break;
        }
      }
#undef C1_OUT
    }
  }
}
#undef C1_BODY

/*
 * Conv2DBackpropInput as a GEMM and a scatter (col2im), for the shapes where the conv of dy with the
 * flipped filter wastes its multiplies on padding (lenet5's 5x5 valid conv: ~half of them).
 *   dy [nb][oh][ow][k], wt [k][kc8] (conv_bpi_pack: tfjs's filter [fh][fw][c][k] transposed, kc = fh·fw·c
 *   columns padded to kc8 = kc rounded up to 8 with zeros), dx [nb][h][w][c]; strides sh, sw; padding
 *   pad_top / pad_left (the forward conv's).
 * Per block of pb dy pixels: C [pb][kc8] = dy rows · wt (4x8 register tiles, the reduction over k), then
 * each pixel's C row, one filter row ky at a time, is added to dx where the forward conv read it: a
 * contiguous run of fw·c values (clipped at the image's edges). Images [b_begin, b_end) (two threads
 * take disjoint images: neighbouring pixels add into the same dx rows); dx of those images is zeroed
 * first. scratch per thread: pb·kc8 + 4·k floats; pb % 4 == 0.
 */
__attribute__((export_name("conv_bpi_pack")))
void conv_bpi_pack(const f32 *g, f32 *wt, int32_t kc, int32_t k, int32_t kc8) {
  for (int32_t kk = 0; kk < k; kk++)
    for (int32_t r = 0; r < kc8; r++) wt[(int64_t)kk * kc8 + r] = r < kc ? g[(int64_t)r * k + kk] : 0.0f;
}

__attribute__((export_name("conv_bpi")))
void conv_bpi(const f32 *dy, const f32 *wt, f32 *dx, f32 *scratch, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh,
              int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t pad_top, int32_t pad_left,
              int32_t b_begin, int32_t b_end, int32_t pb) {
  const int32_t kc = fh * fw * c, kc8 = (kc + 7) & ~7, per = oh * ow;
  const int64_t img = (int64_t)h * w * c;
  f32 *C = scratch;
  f32 *Z = scratch + (int64_t)pb * kc8;
  if (b_end > nb) b_end = nb;
  for (int32_t b = b_begin; b < b_end; b++) {
    f32 *dxb = dx + b * img;
    __builtin_memset(dxb, 0, (unsigned long)img * sizeof(f32));
    const f32 *dyb = dy + (int64_t)b * per * k;
    for (int32_t p0 = 0; p0 < per; p0 += pb) {
      const int32_t n = per - p0 < pb ? per - p0 : pb;
      for (int32_t i = 0; i < n; i += 4) {
        const f32 *a = dyb + (int64_t)(p0 + i) * k;
        if (i + 4 > n) {
          /* A partial tile: its rows copied, the missing ones zero (never read past dy). */
          for (int32_t q = 0; q < 4 * k; q++) Z[q] = q < (n - i) * k ? a[q] : 0.0f;
          a = Z;
        }
        for (int32_t j = 0; j < kc8; j += 8) tile4x8(a, k, wt + j, kc8, C + (int64_t)i * kc8 + j, kc8, k, 0);
      }
      int32_t oy = p0 / ow, ox = p0 - oy * ow;
      for (int32_t i = 0; i < n; i++) {
        const int32_t iy0 = oy * sh - pad_top, ix0 = ox * sw - pad_left;
        const int32_t kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + fw > w ? w - ix0 : fw;
        if (kx1 > kx0) {
          const int32_t len = (kx1 - kx0) * c;
          for (int32_t ky = 0; ky < fh; ky++) {
            const int32_t iy = iy0 + ky;
            if (iy < 0 || iy >= h) continue;
            const f32 *src = C + (int64_t)i * kc8 + (ky * fw + kx0) * c;
            f32 *dst = dxb + ((int64_t)iy * w + ix0 + kx0) * c;
            int32_t q = 0;
            for (; q + 4 <= len; q += 4) wasm_v128_store(dst + q, wasm_f32x4_add(wasm_v128_load(dst + q), wasm_v128_load(src + q)));
            for (; q < len; q++) dst[q] += src[q];
          }
        }
        if (++ox == ow) ox = 0, oy++;
      }
    }
  }
}

/*
 * A convolution without padding (valid; any stride, no dilation), k % 8 == 0, as an implicit GEMM: for
 * filter row fi, output pixel (oy, ox) reads fw·c contiguous floats of x's row sh·oy + fi from pixel
 * sw·ox, which is row fi of its patch in tfjs's filter order, so a 4x8 register tile (4 output pixels x 8
 * output channels) multiplies x in place by the filter's rows g[fi][·][j .. j+7] (tfjs's [fh][fw][c][k],
 * rows k floats apart): no patch gathered, no filter packed. Bias and activation (0 linear, 1 relu, 2
 * relu6) on the way out. Pixels [p_begin, p_end) of nb·oh·ow; with a counter `next`, in chunks of `chunk`
 * pixels (a multiple of 4) shared with the other thread (simd.h's FOR_CLAIMED).
 */
__attribute__((always_inline)) static inline void conv_igemm_range(const f32 *x, const f32 *g, const f32 *bias, f32 *y, int32_t nb, int32_t h, int32_t w, int32_t c,
                             int32_t oh, int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t act,
                             int32_t p_begin, int32_t p_end) {
  const int32_t per_image = oh * ow, fc = fw * c;
  const int64_t xrow = (int64_t)w * c;
  if (p_end > nb * per_image) p_end = nb * per_image;
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  for (int32_t p0 = p_begin; p0 < p_end; p0 += 4) {
    const int32_t n = p_end - p0 < 4 ? p_end - p0 : 4;
    /* The 4 pixels' first patch values (a missing pixel repeats the last one; never stored). */
    const f32 *a[4];
    f32 *yp[4];
    for (int32_t i = 0; i < 4; i++) {
      const int32_t p = p0 + (i < n ? i : n - 1);
      const int32_t b = p / per_image, r = p - b * per_image, oy = r / ow, ox = r - oy * ow;
      a[i] = x + ((int64_t)b * h + (int64_t)oy * sh) * xrow + (int64_t)ox * sw * c;
      yp[i] = y + (int64_t)p * k;
    }
    for (int32_t j = 0; j < k; j += 8) {
      v128_t c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
      const f32 *bq = g + j;
      for (int32_t fi = 0; fi < fh; fi++) {
        const f32 *a0 = a[0] + fi * xrow, *a1 = a[1] + fi * xrow, *a2 = a[2] + fi * xrow, *a3 = a[3] + fi * xrow;
        for (int32_t q = 0; q < fc; q++, bq += k) {
          TILE4X8_STEP(a0, a1, a2, a3, q, bq);
        }
      }
      if (bias) {
        const v128_t b0 = wasm_v128_load(bias + j), b1 = wasm_v128_load(bias + j + 4);
        c00 = ADD(c00, b0); c01 = ADD(c01, b1); c10 = ADD(c10, b0); c11 = ADD(c11, b1);
        c20 = ADD(c20, b0); c21 = ADD(c21, b1); c30 = ADD(c30, b0); c31 = ADD(c31, b1);
      }
      if (act != 0) {
#define RELU(o)                                                                 \
  o = wasm_v128_bitselect(zero, o, wasm_f32x4_lt(o, zero));                     \
  if (act == 2) o = wasm_v128_bitselect(six, o, wasm_f32x4_gt(o, six));
        RELU(c00) RELU(c01) RELU(c10) RELU(c11) RELU(c20) RELU(c21) RELU(c30) RELU(c31)
#undef RELU
      }
      wasm_v128_store(yp[0] + j, c00); wasm_v128_store(yp[0] + j + 4, c01);
      if (n > 1) { wasm_v128_store(yp[1] + j, c10); wasm_v128_store(yp[1] + j + 4, c11); }
      if (n > 2) { wasm_v128_store(yp[2] + j, c20); wasm_v128_store(yp[2] + j + 4, c21); }
      if (n > 3) { wasm_v128_store(yp[3] + j, c30); wasm_v128_store(yp[3] + j + 4, c31); }
    }
  }
}

__attribute__((export_name("conv_igemm_fwd")))
void conv_igemm_fwd(const f32 *x, const f32 *g, const f32 *bias, f32 *y, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh,
                    int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t act, int32_t p_begin,
                    int32_t p_end, int32_t *next, int32_t chunk) {
#define RANGE(s, e) conv_igemm_range(x, g, bias, y, nb, h, w, c, oh, ow, k, fh, fw, sh, sw, act, s, e)
  FOR_CLAIMED(next, chunk, p_begin, p_end, RANGE);
#undef RANGE
}

/*
 * Conv2DBackpropInput of a convolution without padding (valid; any stride, no dilation) as a GEMM whose
 * tiles add straight into dx (no scratch C, no separate col2im pass): for dy pixel (oy, ox) and filter row
 * fi, the forward conv read fw·c contiguous floats of x's row sh·oy + fi from pixel sw·ox, so the products
 * dy[oy][ox][:] · wt[:][fi][r] for r in [0, fw·c) add into those fw·c floats of dx. Per dx row iy, 4 dy
 * columns and 8 of the r, a 4x8 register tile sums over every dy row oy that reaches iy (fi = iy - sh·oy)
 * and over k (up to fh·k steps: lenet5's 80), then each column's 8 values are added into dx in turn (they
 * overlap in dx: each read-add-write follows the one before). wt [k][fh][fc8] (conv_bpi_pack2: fc = fw·c
 * rounded up to 8 with zeros; the padding is never stored). Images [b_begin, b_end), zeroed first; with a
 * counter `next`, in chunks of `chunk` images shared with the other thread (simd.h's FOR_CLAIMED).
 */
__attribute__((export_name("conv_bpi_pack2")))
void conv_bpi_pack2(const f32 *g, f32 *wt, int32_t k, int32_t fh, int32_t fc) {
  const int32_t fc8 = (fc + 7) & ~7;
  for (int32_t kk = 0; kk < k; kk++)
    for (int32_t fi = 0; fi < fh; fi++)
      for (int32_t r = 0; r < fc8; r++) wt[((int64_t)kk * fh + fi) * fc8 + r] = r < fc ? g[((int64_t)fi * fc + r) * k + kk] : 0.0f;
}

__attribute__((always_inline)) static inline void conv_bpi_valid_range(const f32 *dy, const f32 *wt, f32 *dx, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh,
                                 int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t b_begin, int32_t b_end) {
  const int32_t fc = fw * c, fc8 = (fc + 7) & ~7;
  const int64_t img = (int64_t)h * w * c, xrow = (int64_t)w * c, wk = (int64_t)fh * fc8, dyrow = (int64_t)ow * k;
  const v128_t z = wasm_f32x4_splat(0.0f);
  if (b_end > nb) b_end = nb;
  for (int32_t b = b_begin; b < b_end; b++) {
    f32 *dxb = dx + b * img;
    __builtin_memset(dxb, 0, (unsigned long)img * sizeof(f32));
    const f32 *dyb = dy + (int64_t)b * oh * dyrow;
    /* dx row iy gets dy rows oy with fi = iy - sh·oy in [0, fh): all of them summed in registers per tile. */
    for (int32_t iy = 0; iy < h; iy++) {
      int32_t oy0 = iy - fh + 1 <= 0 ? 0 : (iy - fh + 1 + sh - 1) / sh, oy1 = iy / sh;
      if (oy1 > oh - 1) oy1 = oh - 1;
      if (oy0 > oy1) continue;
      f32 *dxr = dxb + (int64_t)iy * xrow;
      for (int32_t ox0 = 0; ox0 < ow; ox0 += 4) {
        const int32_t n = ow - ox0 < 4 ? ow - ox0 : 4;
        if (n <= 2) {
          /* 1-2 columns left: 2 columns x 16 of the r per tile (a 4x8 tile would spend half its work on copies). */
          const int32_t o1 = n - 1;
          for (int32_t j = 0; j < fc8; j += 16) {
            const int32_t wide = j + 16 <= fc8;
            v128_t c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
            for (int32_t oy = oy0; oy <= oy1; oy++) {
              const int32_t fi = iy - oy * sh;
              const f32 *a0 = dyb + oy * dyrow + (int64_t)ox0 * k, *a1 = a0 + o1 * k;
              const f32 *bq = wt + (int64_t)fi * fc8 + j;
              if (wide) {
                for (int32_t q = 0; q < k; q++, bq += wk) {
                  const v128_t b0 = wasm_v128_load(bq), b1 = wasm_v128_load(bq + 4), b2 = wasm_v128_load(bq + 8), b3 = wasm_v128_load(bq + 12);
                  v128_t v = wasm_v128_load32_splat(a0 + q);
                  c00 = ACC(c00, v, b0); c01 = ACC(c01, v, b1); c02 = ACC(c02, v, b2); c03 = ACC(c03, v, b3);
                  v = wasm_v128_load32_splat(a1 + q);
                  c10 = ACC(c10, v, b0); c11 = ACC(c11, v, b1); c12 = ACC(c12, v, b2); c13 = ACC(c13, v, b3);
                }
              } else {
                for (int32_t q = 0; q < k; q++, bq += wk) {
                  const v128_t b0 = wasm_v128_load(bq), b1 = wasm_v128_load(bq + 4);
                  v128_t v = wasm_v128_load32_splat(a0 + q);
                  c00 = ACC(c00, v, b0); c01 = ACC(c01, v, b1);
                  v = wasm_v128_load32_splat(a1 + q);
                  c10 = ACC(c10, v, b0); c11 = ACC(c11, v, b1);
                }
              }
            }
            for (int32_t i = 0; i < n; i++) {
              f32 *q = dxr + (int64_t)(ox0 + i) * sw * c + j;
              const v128_t v0 = i ? c10 : c00, v1 = i ? c11 : c01, v2 = i ? c12 : c02, v3 = i ? c13 : c03;
              /* Columns j .. min(j + 16, fc) of the row: four groups of 4, the last ones partial or absent. */
              const int32_t left = fc - j;
              store_part(q, left, ADD(load_part(q, left), v0));
              if (left > 4) store_part(q + 4, left - 4, ADD(load_part(q + 4, left - 4), v1));
              if (wide && left > 8) store_part(q + 8, left - 8, ADD(load_part(q + 8, left - 8), v2));
              if (wide && left > 12) store_part(q + 12, left - 12, ADD(load_part(q + 12, left - 12), v3));
            }
          }
          continue;
        }
        const int32_t o1 = n > 1 ? 1 : 0, o2 = n > 2 ? 2 : n - 1, o3 = n > 3 ? 3 : n - 1;
        for (int32_t j = 0; j < fc8; j += 8) {
          v128_t c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
          for (int32_t oy = oy0; oy <= oy1; oy++) {
            const int32_t fi = iy - oy * sh;
            const f32 *a0 = dyb + oy * dyrow + (int64_t)ox0 * k;
            const f32 *a1 = a0 + o1 * k, *a2 = a0 + o2 * k, *a3 = a0 + o3 * k;
            const f32 *bq = wt + (int64_t)fi * fc8 + j;
            for (int32_t q = 0; q < k; q++, bq += wk) {
              TILE4X8_STEP(a0, a1, a2, a3, q, bq);
            }
          }
          const int32_t left = fc - j; /* >= 1 */
#define ADD_INTO(i, lo, hi)                                                                   \
  {                                                                                           \
    f32 *q = dxr + (int64_t)(ox0 + i) * sw * c + j;                                           \
    if (left >= 8) {                                                                          \
      wasm_v128_store(q, ADD(wasm_v128_load(q), lo));                                         \
      wasm_v128_store(q + 4, ADD(wasm_v128_load(q + 4), hi));                                 \
    } else {                                                                                  \
      store_part(q, left, ADD(load_part(q, left), lo));                                       \
      if (left > 4) store_part(q + 4, left - 4, ADD(load_part(q + 4, left - 4), hi));          \
    }                                                                                         \
  }
          ADD_INTO(0, c00, c01)
          if (n > 1) ADD_INTO(1, c10, c11)
          if (n > 2) ADD_INTO(2, c20, c21)
          if (n > 3) ADD_INTO(3, c30, c31)
#undef ADD_INTO
        }
      }
    }
  }
}

__attribute__((export_name("conv_bpi_valid")))
void conv_bpi_valid(const f32 *dy, const f32 *wt, f32 *dx, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh, int32_t ow,
                    int32_t k, int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t b_begin, int32_t b_end, int32_t *next,
                    int32_t chunk) {
#define RANGE(s, e) conv_bpi_valid_range(dy, wt, dx, nb, h, w, c, oh, ow, k, fh, fw, sh, sw, s, e)
  FOR_CLAIMED(next, chunk, b_begin, b_end, RANGE);
#undef RANGE
}

/*
 * conv_c1_fwd with register blocks of up to 4 output rows x 2 output channels (8 accumulators, every
 * multiply-add chain independent of the 7 others: conv_c1_fwd's one row x 6-8 channels waits on the FMA's
 * latency, and 9+ accumulators spill in V8). Per tap: R x loads, KK weight splats, R·KK multiply-adds. Same
 * arguments, scratch and split as conv_c1_fwd; 4 columns x KK channels stored as 64-bit (KK = 2) or 32-bit
 * lanes.
 */
__attribute__((always_inline)) static inline void c1q_block(const f32 *P, int32_t pw, const f32 *g, int32_t k, int32_t j0, int32_t fh,
                                                            int32_t fw, int32_t oy, int32_t ox, const f32 *bias, int32_t act,
                                                            f32 *yr, int32_t ow, const int32_t R, const int32_t KK) {
  const v128_t zero = wasm_f32x4_splat(0.0f), six = wasm_f32x4_splat(6.0f);
  v128_t a[4][2];
#pragma clang loop unroll(full)
  for (int32_t r = 0; r < R; r++)
#pragma clang loop unroll(full)
    for (int32_t q = 0; q < KK; q++) a[r][q] = zero;
  for (int32_t ky = 0; ky < fh; ky++) {
    const f32 *pr = P + (int64_t)(oy + ky) * pw + ox;
    const f32 *gr = g + (int64_t)ky * fw * k + j0;
    for (int32_t kx = 0; kx < fw; kx++, gr += k) {
      const v128_t w0 = wasm_v128_load32_splat(gr);
      const v128_t w1 = KK > 1 ? wasm_v128_load32_splat(gr + 1) : zero;
#pragma clang loop unroll(full)
      for (int32_t r = 0; r < R; r++) {
        const v128_t xv = wasm_v128_load(pr + (int64_t)r * pw + kx);
        a[r][0] = ACC(a[r][0], xv, w0);
        if (KK > 1) a[r][1] = ACC(a[r][1], xv, w1);
      }
    }
  }
  const v128_t b0 = bias ? wasm_v128_load32_splat(bias + j0) : zero;
  const v128_t b1 = bias && KK > 1 ? wasm_v128_load32_splat(bias + j0 + 1) : zero;
  const int32_t cols = ow - ox < 4 ? ow - ox : 4;
#pragma clang loop unroll(full)
  for (int32_t r = 0; r < R; r++) {
    v128_t o0 = ADD(a[r][0], b0), o1 = ADD(a[r][1 < KK ? 1 : 0], b1);
    if (act != 0) {
      o0 = wasm_v128_bitselect(zero, o0, wasm_f32x4_lt(o0, zero));
      o1 = wasm_v128_bitselect(zero, o1, wasm_f32x4_lt(o1, zero));
      if (act == 2) {
        o0 = wasm_v128_bitselect(six, o0, wasm_f32x4_gt(o0, six));
        o1 = wasm_v128_bitselect(six, o1, wasm_f32x4_gt(o1, six));
      }
    }
    f32 *yo = yr + (int64_t)r * ow * k + (int64_t)ox * k + j0;
    if (KK > 1) {
      const v128_t lo = wasm_i32x4_shuffle(o0, o1, 0, 4, 1, 5), hi = wasm_i32x4_shuffle(o0, o1, 2, 6, 3, 7);
      wasm_v128_store64_lane(yo, lo, 0);
      if (cols > 1) wasm_v128_store64_lane(yo + k, lo, 1);
      if (cols > 2) wasm_v128_store64_lane(yo + 2 * k, hi, 0);
      if (cols > 3) wasm_v128_store64_lane(yo + 3 * k, hi, 1);
    } else {
      wasm_v128_store32_lane(yo, o0, 0);
      if (cols > 1) wasm_v128_store32_lane(yo + k, o0, 1);
      if (cols > 2) wasm_v128_store32_lane(yo + 2 * k, o0, 2);
      if (cols > 3) wasm_v128_store32_lane(yo + 3 * k, o0, 3);
    }
  }
}

__attribute__((always_inline)) static inline void conv_c1q_range(const f32 *x, const f32 *g, const f32 *bias, f32 *y, f32 *scratch, int32_t nb, int32_t h, int32_t w,
                           int32_t oh, int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t pad_top, int32_t pad_left, int32_t act,
                           int32_t r_begin, int32_t r_end) {
  const int32_t ow4 = (ow + 3) & ~3, pw = (ow4 + fw - 1 + 3) & ~3, ph = oh + fh - 1;
  f32 *P = scratch;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  if (r_end > nb * oh) r_end = nb * oh;
  int32_t cur = -1;
  for (int32_t r = r_begin; r < r_end;) {
    const int32_t b = r / oh, oy = r - b * oh;
    if (b != cur) {
      cur = b;
      const f32 *xb = x + (int64_t)b * h * w;
      /* Columns [xl, xe) of P's rows hold x's columns from xl - pad_left (clamped to P's width). */
      const int32_t xl = pad_left < 0 ? 0 : pad_left < pw ? pad_left : pw;
      const int32_t xe = pad_left + w < xl ? xl : pad_left + w < pw ? pad_left + w : pw;
      for (int32_t pr = 0; pr < ph; pr++) {
        const int32_t iy = pr - pad_top;
        f32 *row = P + (int64_t)pr * pw;
        int32_t pc = 0;
        if (iy < 0 || iy >= h) {
          for (; pc + 4 <= pw; pc += 4) wasm_v128_store(row + pc, zero);
          for (; pc < pw; pc++) row[pc] = 0.0f;
          continue;
        }
        const f32 *src = xb + (int64_t)iy * w - pad_left;
        for (; pc < xl; pc++) row[pc] = 0.0f;
        for (; pc + 4 <= xe; pc += 4) wasm_v128_store(row + pc, wasm_v128_load(src + pc));
        for (; pc < xe; pc++) row[pc] = src[pc];
        for (; pc < pw; pc++) row[pc] = 0.0f;
      }
    }
    int32_t nr = oh - oy < 4 ? oh - oy : 4;
    if (r_end - r < nr) nr = r_end - r;
    f32 *yr = y + ((int64_t)b * oh + oy) * ow * k;
    for (int32_t j0 = 0; j0 < k; j0 += 2) {
      const int32_t kk = k - j0 < 2 ? k - j0 : 2;
      for (int32_t ox = 0; ox < ow; ox += 4) {
#define C1Q(R)                                                                                         \
  if (kk == 2) c1q_block(P, pw, g, k, j0, fh, fw, oy, ox, bias, act, yr, ow, R, 2);                    \
  else c1q_block(P, pw, g, k, j0, fh, fw, oy, ox, bias, act, yr, ow, R, 1);
        switch (nr) {
          case 4: C1Q(4) break;
          case 3: C1Q(3) break;
          case 2: C1Q(2) break;
          default: C1Q(1) break;
        }
#undef C1Q
      }
    }
    r += nr;
  }
}

/* Rows [r_begin, r_end) of nb·oh; with a counter `next`, in chunks of `chunk` rows (whole images: each chunk pads its image into this thread's scratch) shared with the other thread. */
__attribute__((export_name("conv_c1q_fwd")))
void conv_c1q_fwd(const f32 *x, const f32 *g, const f32 *bias, f32 *y, f32 *scratch, int32_t nb, int32_t h, int32_t w,
                  int32_t oh, int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t pad_top, int32_t pad_left, int32_t act,
                  int32_t r_begin, int32_t r_end, int32_t *next, int32_t chunk) {
#define RANGE(s, e) conv_c1q_range(x, g, bias, y, scratch, nb, h, w, oh, ow, k, fh, fw, pad_top, pad_left, act, s, e)
  FOR_CLAIMED(next, chunk, r_begin, r_end, RANGE);
#undef RANGE
}
