/*
 * The filter gradient of a 2-D convolution (Conv2DBackpropFilter, dW), NHWC float32
 * (backends/convGrad.ts routes): x [nb][h][w][c], dy [nb][oh][ow][k], dW [fh][fw][c][k].
 * Same rules as kernels.c: stack-free leaf functions on heap offsets, no data, no calls (build.mjs
 * checks). Export names are prefixed cg_.
 *
 * Two ways, both a blocked GEMM with the reduction over output positions (or tiles), each thread
 * accumulating its own range of them into its own partial dW, summed at the end (cg_*_finish):
 *  - Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions: forward y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per 4x4
 *    output tile, so dW = Gᵀ [ Σ_tiles (Bᵀ d B) ⊙ (A dy Aᵀ) ] G: per block of tiles, the input
 *    transform (native/winograd.h, as conv.c's), the output-gradient transform A·dy·Aᵀ (4x4 -> 6x6), then 36
 *    products [C x tiles]·[tiles x K] accumulated into U[36][C][K]; at the end one filter-side
 *    transform Gᵀ·U·G per (c, k). 36 multiply-adds per 16 outputs and channel pair instead of 144.
 *  - im2col: per block of output positions, the patches packed as [positions][fh·fw·c] (zeros
 *    outside the image), then dW += patchesᵀ·dy. Any filter size, stride, dilation and padding.
 *
 * The products use tile4x8t: C[4 x 8] += Aᵀ·B with A's 4 rows contiguous per reduction step (a
 * packed tile's channels) and B's rows 8 contiguous floats (dy's or its transform's channels).
 */
// layerforge: relaxed-simd
#include "simd.h"
#include "winograd.h"

/*
 * C[i][j] += Σ_p a[p·as + i] · b[p·bs + j] for i < 4, j < 8 (C rows at c + i·cs). 8 accumulators; per
 * step 2 loads of B, 4 broadcasts of A, 8 multiply-adds.
 */
__attribute__((always_inline)) static inline void tile4x8t(const f32 *a, int32_t as, const f32 *b, int32_t bs, f32 *c, int32_t cs,
                                                           int32_t n) {
  f32 *c1 = c + cs, *c2 = c + 2 * cs, *c3 = c + 3 * cs;
  v128_t c00 = wasm_v128_load(c), c01 = wasm_v128_load(c + 4);
  v128_t c10 = wasm_v128_load(c1), c11 = wasm_v128_load(c1 + 4);
  v128_t c20 = wasm_v128_load(c2), c21 = wasm_v128_load(c2 + 4);
  v128_t c30 = wasm_v128_load(c3), c31 = wasm_v128_load(c3 + 4);
  for (int32_t p = 0; p < n; p++, a += as, b += bs) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    v128_t x = wasm_v128_load32_splat(a);
    c00 = ACC(c00, x, b0); c01 = ACC(c01, x, b1);
    x = wasm_v128_load32_splat(a + 1);
    c10 = ACC(c10, x, b0); c11 = ACC(c11, x, b1);
    x = wasm_v128_load32_splat(a + 2);
    c20 = ACC(c20, x, b0); c21 = ACC(c21, x, b1);
    x = wasm_v128_load32_splat(a + 3);
    c30 = ACC(c30, x, b0); c31 = ACC(c31, x, b1);
  }
  wasm_v128_store(c, c00); wasm_v128_store(c + 4, c01);
  wasm_v128_store(c1, c10); wasm_v128_store(c1 + 4, c11);
  wasm_v128_store(c2, c20); wasm_v128_store(c2 + 4, c21);
  wasm_v128_store(c3, c30); wasm_v128_store(c3 + 4, c31);
}

/* A on 4 values (A = (Aᵀ)ᵀ, 6x4): (y0, y0+y1+y2+y3, y0-y1+y2-y3, y0+2y1+4y2+8y3, y0-2y1+4y2-8y3, y3). */
#define A6(y0, y1, y2, y3, o0, o1, o2, o3, o4, o5)                                  \
  const v128_t o0##_a = ADD(y0, y2), o0##_b = ADD(y1, y3);                          \
  const v128_t o0##_c = ADD(y0, MUL(y2, 4.0f)), o0##_d = ADD(MUL(y1, 2.0f), MUL(y3, 8.0f)); \
  const v128_t o0 = y0;                                                             \
  const v128_t o1 = ADD(o0##_a, o0##_b);                                            \
  const v128_t o2 = SUB(o0##_a, o0##_b);                                            \
  const v128_t o3 = ADD(o0##_c, o0##_d);                                            \
  const v128_t o4 = SUB(o0##_c, o0##_d);                                            \
  const v128_t o5 = y3;

/*
 * The next block to work on: with a shared counter `next` (an int32 on the heap, both threads calling with
 * the same one, from the same t_begin), the block it hands out (i32.atomic.rmw.add in the shared build), so
 * a thread that runs late (a loaded machine) takes fewer blocks; without one, the static successor.
 */
#define CLAIM(succ, step) (next ? t_begin + __atomic_fetch_add(next, step, __ATOMIC_RELAXED) : (succ))

/*
 * Partial Winograd-domain filter gradient over tiles [t_begin, t_end) of the nb x ceil(oh/4) x
 * ceil(ow/4) output tiles: acc[36][c4][k] (+)= Σ_tiles V[e][c] · D[e][k], V = Bᵀ d B (the 6x6 input
 * patch at 4·ty - pad_top, 4·tx - pad_left; zeros outside the image), D = A dy Aᵀ (the 4x4 dy tile,
 * zeros past oh/ow). zero: clear acc first. c4: c rounded up to 4 (rows c..c4-1 of acc get zeros);
 * k % 8 == 0. acc: 36·(c4·k + 16) floats, scratch: 36·(tb·(c4 + k) + 32) floats (this thread's own).
 * next: 0, or a counter (0 at the start) shared with the other thread: blocks of tb tiles are then taken
 * from it, whichever thread is free (each into its own acc).
 */
__attribute__((export_name("cg_wino4_acc")))
void cg_wino4_acc(const f32 *x, const f32 *dy, f32 *acc, f32 *scratch, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh,
                  int32_t ow, int32_t k, int32_t pad_top, int32_t pad_left, int32_t t_begin, int32_t t_end, int32_t tb,
                  int32_t zero, int32_t *next) {
  const int32_t th = (oh + 3) >> 2, tw = (ow + 3) >> 2;
  const int32_t per_image = th * tw;
  if (t_end > nb * per_image) t_end = nb * per_image;
  const int32_t c4 = (c + 3) & ~3, cfull = c & ~3;
  /* Each of the 36 planes (of V, D and acc) starts one cache line (16 floats) past a multiple of its
     size: the 36 stores of one tile's transform then fall in different cache sets (plane sizes are
     often multiples of 4 KiB, which would put all 36 in one 8-way set). */
  const int64_t uk = (int64_t)c4 * k + 16;
  if (zero) __builtin_memset(acc, 0, (unsigned long)(36 * uk) * sizeof(f32));
  const int64_t vs = (int64_t)tb * c4 + 16, ds = (int64_t)tb * k + 16;
  f32 *V = scratch;           /* [36][vs]: [tb][c4] each */
  f32 *D = scratch + 36 * vs; /* [36][ds]: [tb][k] each */
  const v128_t vzero = wasm_f32x4_splat(0.0f);
  for (int32_t t0 = CLAIM(t_begin, tb); t0 < t_end; t0 = CLAIM(t0 + tb, tb)) {
    const int32_t n = t_end - t0 < tb ? t_end - t0 : tb;
    for (int32_t i = 0; i < n; i++) {
      const int32_t t = t0 + i;
      /* 1. Input transform (channels in lanes), V[6r + s][i][:]. */
      WINO4_INPUT_TILE(t)
      f32 *v = V + (int64_t)i * c4;
#define LD_IN(r, s) const v128_t d##r = WINO_LD_IN(r, s);
#define LD_EDGE(r, s) const v128_t d##r = WINO_LD_EDGE(r, s);
      /* Two passes through V's own (cache-hot) slots, so that few SIMD values are live at once: columns
         e = Bᵀ d into V[6r + s], then rows v = e B in place. Tiles inside the image load plainly; edge
         tiles read a clamped address and mask rows / columns outside to zero. */
#define COL(LD, s)                                                                                          \
  {                                                                                                         \
    LD(0, s) LD(1, s) LD(2, s) LD(3, s) LD(4, s) LD(5, s)                                                   \
    BT6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                                                     \
    wasm_v128_store(q + (0 + s) * vs, o0); wasm_v128_store(q + (6 + s) * vs, o1);                           \
    wasm_v128_store(q + (12 + s) * vs, o2); wasm_v128_store(q + (18 + s) * vs, o3);                         \
    wasm_v128_store(q + (24 + s) * vs, o4); wasm_v128_store(q + (30 + s) * vs, o5);                         \
  }
#define ROW(r)                                                                                              \
  {                                                                                                         \
    f32 *qr = q + 6 * r * vs;                                                                               \
    const v128_t e0 = wasm_v128_load(qr), e1 = wasm_v128_load(qr + vs), e2 = wasm_v128_load(qr + 2 * vs);   \
    const v128_t e3 = wasm_v128_load(qr + 3 * vs), e4 = wasm_v128_load(qr + 4 * vs), e5 = wasm_v128_load(qr + 5 * vs); \
    BT6(e0, e1, e2, e3, e4, e5, o0, o1, o2, o3, o4, o5)                                                     \
    wasm_v128_store(qr, o0); wasm_v128_store(qr + vs, o1); wasm_v128_store(qr + 2 * vs, o2);                \
    wasm_v128_store(qr + 3 * vs, o3); wasm_v128_store(qr + 4 * vs, o4); wasm_v128_store(qr + 5 * vs, o5);   \
  }
      if (inside)
        for (int32_t ch = 0; ch < c4; ch += 4) {
          f32 *q = v + ch;
          COL(LD_IN, 0) COL(LD_IN, 1) COL(LD_IN, 2) COL(LD_IN, 3) COL(LD_IN, 4) COL(LD_IN, 5)
          ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
        }
      else
        for (int32_t ch = 0; ch < c4; ch += 4) {
          f32 *q = v + ch;
          COL(LD_EDGE, 0) COL(LD_EDGE, 1) COL(LD_EDGE, 2) COL(LD_EDGE, 3) COL(LD_EDGE, 4) COL(LD_EDGE, 5)
          ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
        }
#undef ROW
#undef COL
#undef LD_IN
#undef LD_EDGE
      /* 2. Output-gradient transform A·dy·Aᵀ of the 4x4 dy tile (zeros past oh / ow), D[6r + s][i][:]. */
      const int32_t oy = 4 * ty, ox = 4 * tx;
      const int32_t rows = oh - oy < 4 ? oh - oy : 4, cols = ow - ox < 4 ? ow - ox : 4;
      const f32 *g = dy + (((int64_t)b * oh + oy) * ow + ox) * k;
      const int64_t gr = (int64_t)ow * k;
      f32 *dq = D + (int64_t)i * k;
      for (int32_t j = 0; j < k; j += 4) {
        f32 *q = dq + j;
        /* Columns z = A·dy into D[6r + s] (s < 4), then rows in place (as the input transform). */
#define LG(r, s) const v128_t y##r = (r < rows && s < cols) ? wasm_v128_load(g + r * gr + s * k + j) : vzero;
#define COL(s)                                                                                              \
  {                                                                                                         \
    LG(0, s) LG(1, s) LG(2, s) LG(3, s)                                                                     \
    A6(y0, y1, y2, y3, o0, o1, o2, o3, o4, o5)                                                              \
    wasm_v128_store(q + (0 + s) * ds, o0); wasm_v128_store(q + (6 + s) * ds, o1);                           \
    wasm_v128_store(q + (12 + s) * ds, o2); wasm_v128_store(q + (18 + s) * ds, o3);                         \
    wasm_v128_store(q + (24 + s) * ds, o4); wasm_v128_store(q + (30 + s) * ds, o5);                         \
  }
        COL(0) COL(1) COL(2) COL(3)
#undef COL
#undef LG
#define ROW(r)                                                                                              \
  {                                                                                                         \
    f32 *qr = q + 6 * r * ds;                                                                               \
    const v128_t z0 = wasm_v128_load(qr), z1 = wasm_v128_load(qr + ds), z2 = wasm_v128_load(qr + 2 * ds);   \
    const v128_t z3 = wasm_v128_load(qr + 3 * ds);                                                          \
    A6(z0, z1, z2, z3, o0, o1, o2, o3, o4, o5)                                                              \
    wasm_v128_store(qr, o0); wasm_v128_store(qr + ds, o1); wasm_v128_store(qr + 2 * ds, o2);                \
    wasm_v128_store(qr + 3 * ds, o3); wasm_v128_store(qr + 4 * ds, o4); wasm_v128_store(qr + 5 * ds, o5);   \
  }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
      }
    }
    /* 3. acc[e] (c4 x k) += V[e]ᵀ (c4 x n) · D[e] (n x k). */
    for (int32_t e = 0; e < 36; e++) {
      const f32 *Ve = V + e * vs, *De = D + e * ds;
      f32 *Ae = acc + e * uk;
      for (int32_t ci = 0; ci < c4; ci += 4)
        for (int32_t j = 0; j < k; j += 8) tile4x8t(Ve + ci, c4, De + j, k, Ae + (int64_t)ci * k + j, k, n);
    }
  }
}

/* Gᵀ on 6 values -> 3: (m0/4 - (m1+m2)/6 + (m3+m4)/24, (m2-m1)/6 + (m3-m4)/12, -(m1+m2)/6 + (m3+m4)/6 + m5). */
#define GT3(m0, m1, m2, m3, m4, m5, o0, o1, o2)                                                  \
  const v128_t o0##_a = ADD(m1, m2), o0##_b = SUB(m2, m1), o0##_c = ADD(m3, m4), o0##_d = SUB(m3, m4); \
  const v128_t o0 = ADD(SUB(MUL(m0, 0.25f), MUL(o0##_a, 1.0f / 6.0f)), MUL(o0##_c, 1.0f / 24.0f)); \
  const v128_t o1 = ADD(MUL(o0##_b, 1.0f / 6.0f), MUL(o0##_d, 1.0f / 12.0f));                     \
  const v128_t o2 = ADD(MUL(SUB(o0##_c, o0##_a), 1.0f / 6.0f), m5);

/*
 * dW[3][3][c][k] = Gᵀ (acc0 + acc1) G for input channels [c_begin, c_end) (acc1 may be 0: one
 * thread's partial only). acc*: 36 planes of c4·k (+ 16) floats from cg_wino4_acc. k % 4 == 0.
 */
__attribute__((export_name("cg_wino4_finish")))
void cg_wino4_finish(const f32 *acc0, const f32 *acc1, f32 *dw, int32_t c, int32_t k, int32_t c_begin, int32_t c_end) {
  const int32_t c4 = (c + 3) & ~3;
  const int64_t uk = (int64_t)c4 * k + 16, ck = (int64_t)c * k;
  if (c_end > c) c_end = c;
  for (int32_t ci = c_begin; ci < c_end; ci++)
    for (int32_t j = 0; j < k; j += 4) {
      const int64_t o = (int64_t)ci * k + j;
#define LM(e) const v128_t q##e = acc1 ? ADD(wasm_v128_load(acc0 + e * uk + o), wasm_v128_load(acc1 + e * uk + o)) : wasm_v128_load(acc0 + e * uk + o);
      LM(0) LM(1) LM(2) LM(3) LM(4) LM(5) LM(6) LM(7) LM(8) LM(9) LM(10) LM(11)
      LM(12) LM(13) LM(14) LM(15) LM(16) LM(17) LM(18) LM(19) LM(20) LM(21) LM(22) LM(23)
      LM(24) LM(25) LM(26) LM(27) LM(28) LM(29) LM(30) LM(31) LM(32) LM(33) LM(34) LM(35)
#undef LM
      /* m[6r + s] under names: row r, column s. Columns s: t[i][s] = Σ_r Gᵀ[i][r] m[r][s]. */
#define M(r, s) m##r##s
      const v128_t m00 = q0, m01 = q1, m02 = q2, m03 = q3, m04 = q4, m05 = q5;
      const v128_t m10 = q6, m11 = q7, m12 = q8, m13 = q9, m14 = q10, m15 = q11;
      const v128_t m20 = q12, m21 = q13, m22 = q14, m23 = q15, m24 = q16, m25 = q17;
      const v128_t m30 = q18, m31 = q19, m32 = q20, m33 = q21, m34 = q22, m35 = q23;
      const v128_t m40 = q24, m41 = q25, m42 = q26, m43 = q27, m44 = q28, m45 = q29;
      const v128_t m50 = q30, m51 = q31, m52 = q32, m53 = q33, m54 = q34, m55 = q35;
#define COL(s) GT3(M(0, s), M(1, s), M(2, s), M(3, s), M(4, s), M(5, s), t0##s, t1##s, t2##s)
      COL(0) COL(1) COL(2) COL(3) COL(4) COL(5)
#undef COL
#undef M
      /* Rows i: dW[i][j'] = Σ_s t[i][s] G[s][j']. */
#define ROW(r)                                                                      \
  {                                                                                 \
    GT3(t##r##0, t##r##1, t##r##2, t##r##3, t##r##4, t##r##5, o0, o1, o2)           \
    wasm_v128_store(dw + (3 * r + 0) * ck + o, o0);                                 \
    wasm_v128_store(dw + (3 * r + 1) * ck + o, o1);                                 \
    wasm_v128_store(dw + (3 * r + 2) * ck + o, o2);                                 \
  }
      ROW(0) ROW(1) ROW(2)
#undef ROW
    }
}

/*
 * Partial filter gradient by im2col over output positions [p_begin, p_end) of nb·oh·ow (position p =
 * (b·oh + oy)·ow + ox, dy's row p): acc[rows4][k] (+)= Σ_p patch[p][:]ᵀ · dy[p][:], rows = fh·fw·c
 * (dW's order: tap (i, j), then channel), rows4 = rows rounded up to 4 (the extra rows get zeros).
 * zero: clear acc first. scratch: pb·rows4 floats (this thread's own). With direct set
 * (only for 1x1, stride 1, no padding, c % 4 == 0) the patches are x's own rows: no packing. next: as
 * cg_wino4_acc's (blocks of pb positions). kp: acc's row length, k rounded up to 8; when kp != k each
 * block's dy rows are first copied into dys (pb·kp floats, this thread's own) with zeros in columns
 * k..kp-1, so any k (lenet5's 6) runs on the same 4x8 tiles (cg_sum_finish drops the padding).
 */
__attribute__((export_name("cg_im2col_acc")))
void cg_im2col_acc(const f32 *x, const f32 *dy, f32 *acc, f32 *scratch, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh,
                   int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t pad_top, int32_t pad_left,
                   int32_t dil_h, int32_t dil_w, int32_t p_begin, int32_t p_end, int32_t pb, int32_t zero, int32_t direct,
                   int32_t *next, int32_t kp, f32 *dys) {
  const int32_t t_begin = p_begin; /* for CLAIM */
  const int32_t rows = fh * fw * c, rows4 = (rows + 3) & ~3, fc = fw * c;
  if (zero) __builtin_memset(acc, 0, (unsigned long)((int64_t)rows4 * kp) * sizeof(f32));
  const int32_t per_image = oh * ow;
  const int32_t k4 = k & ~3;
  if (p_end > nb * per_image) p_end = nb * per_image;
  for (int32_t p0 = CLAIM(p_begin, pb); p0 < p_end; p0 = CLAIM(p0 + pb, pb)) {
    const int32_t n = p_end - p0 < pb ? p_end - p0 : pb;
    const f32 *A = x + (int64_t)p0 * c;
    int32_t as = c;
    if (!direct) {
      as = rows4;
      int32_t b = p0 / per_image, r = p0 - b * per_image;
      int32_t oy = r / ow, ox = r - oy * ow;
      for (int32_t i = 0; i < n; i++) {
        f32 *dst = scratch + (int64_t)i * rows4;
        const f32 *xi = x + (int64_t)b * h * w * c;
        const int32_t x0 = ox * sw - pad_left;
        const int32_t row_inside = dil_w == 1 && x0 >= 0 && x0 + fw <= w;
        for (int32_t fi = 0; fi < fh; fi++) {
          const int32_t yy = oy * sh - pad_top + fi * dil_h;
          if (row_inside && yy >= 0 && yy < h) {
            /* The whole filter row inside the image: fw·c contiguous floats of x. */
            const f32 *src = xi + ((int64_t)yy * w + x0) * c;
            int32_t z = 0;
            for (; z + 4 <= fc; z += 4) wasm_v128_store(dst + z, wasm_v128_load(src + z));
            for (; z < fc; z++) dst[z] = src[z];
            dst += fc;
            continue;
          }
          for (int32_t fj = 0; fj < fw; fj++, dst += c) {
            const int32_t xx = ox * sw - pad_left + fj * dil_w;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) {
              /* (A loop, not memset: memory.fill is a call out of wasm, slow for a few floats.) */
              int32_t ch = 0;
              for (; ch + 4 <= c; ch += 4) wasm_v128_store(dst + ch, wasm_f32x4_splat(0.0f));
              for (; ch < c; ch++) dst[ch] = 0.0f;
              continue;
            }
            const f32 *src = xi + ((int64_t)yy * w + xx) * c;
            int32_t ch = 0;
            for (; ch + 4 <= c; ch += 4) wasm_v128_store(dst + ch, wasm_v128_load(src + ch));
            for (; ch < c; ch++) dst[ch] = src[ch];
          }
        }
        for (int32_t z = rows; z < rows4; z++) dst[z - rows] = 0.0f;
        if (++ox == ow) {
          ox = 0;
          if (++oy == oh) {
            oy = 0;
            b++;
          }
        }
      }
      A = scratch;
    }
    const f32 *B = dy + (int64_t)p0 * k;
    if (kp != k) {
      /* dy's rows of this block with zero columns up to kp. */
      for (int32_t i = 0; i < n; i++) {
        const f32 *src = B + (int64_t)i * k;
        f32 *dst = dys + (int64_t)i * kp;
        int32_t j = 0;
        for (; j < k4; j += 4) wasm_v128_store(dst + j, wasm_v128_load(src + j));
        for (; j < k; j++) dst[j] = src[j];
        for (; j < kp; j++) dst[j] = 0.0f;
      }
      B = dys;
    }
    for (int32_t ci = 0; ci < rows4; ci += 4)
      for (int32_t j = 0; j < kp; j += 8) tile4x8t(A + ci, as, B + j, kp, acc + (int64_t)ci * kp + j, kp, n);
  }
}

/*
 * dW[r][:] = acc0[r][:k] + acc1[r][:k] (acc1 may be 0) for rows [r_begin, r_end) of k floats; the acc rows
 * are ks floats apart (ks >= k: cg_im2col_acc's padded kp).
 */
__attribute__((export_name("cg_sum_finish")))
void cg_sum_finish(const f32 *acc0, const f32 *acc1, f32 *dw, int32_t k, int32_t r_begin, int32_t r_end, int32_t ks) {
  const int32_t k4 = k & ~3;
  for (int32_t r = r_begin; r < r_end; r++) {
    const f32 *a = acc0 + (int64_t)r * ks, *b = acc1 ? acc1 + (int64_t)r * ks : 0;
    f32 *o = dw + (int64_t)r * k;
    for (int32_t j = 0; j < k4; j += 4) {
      v128_t v = wasm_v128_load(a + j);
      if (b) v = ADD(v, wasm_v128_load(b + j));
      wasm_v128_store(o + j, v);
    }
    for (int32_t j = k4; j < k; j++) o[j] = b ? a[j] + b[j] : a[j];
  }
}

/*
 * Few input channels (an image's 1-7), stride 1, no dilation: the reduction over output positions runs
 * in the SIMD lanes instead. Per image, x is copied channel-planar and zero-padded, xp[c][hp][wp]
 * (hp = oh + fh - 1, wp = ow4 + fw - 1, ow4 = ow rounded up to 4), and dy channel-planar, dt[k][oh][ow4]
 * (zeros past ow). Then for every (c, filter row i, block of NK output channels, up to 5 taps j) the
 * register block acc[j][kk] += xp[c][oy + i][ox + j .. +3] · dt[k][oy][ox .. +3] runs over the image's
 * rows oy and 4-column steps ox: NK dy vectors in registers, one unaligned x load per tap, NJ·NK
 * independent accumulators, every lane useful (past ow: dt's zeros). No im2col packing, no padding of K
 * (lenet5's 6) or of the taps (5 per row); the 4 lanes of each dW value are summed in cg_small_finish.
 * acc: 4·fh·fw·c·k floats, [c][i][j][k][4]; scratch: c·hp·wp + k·oh·ow4 floats (this thread's own).
 * Images [b_begin, b_end); next: as cg_wino4_acc's (one image per claim).
 * tight: 0, up to 5 taps x 2-3 channels (9-10 accumulators: V8 spills them to memory at every step, ~21
 * GFLOP/s on lenet5's 5x5 1->6); 2, at most 8 accumulators: taps in blocks of 3, 2 channels per block of 3
 * taps, 4 per block of 1-2 (~32 GFLOP/s; 1: blocks of 4 taps, 31; 3: blocks of 2, 28).
 */
__attribute__((always_inline)) static inline void small_block(const f32 *xr, int32_t wp, const f32 *g, int32_t gs, int32_t plane,
                                                              f32 *acc, int32_t oh, int32_t ow4, const int32_t NJ,
                                                              const int32_t NK) {
  /* xr: xp[c][i][j0], g: dt[k0], plane: dt's k stride; acc: [NJ][k][4] at tap j0, channel k0 (k stride gs·4). */
  v128_t a[5][4];
#pragma clang loop unroll(full)
  for (int32_t j = 0; j < NJ; j++)
#pragma clang loop unroll(full)
    for (int32_t kk = 0; kk < NK; kk++) a[j][kk] = wasm_v128_load(acc + ((int64_t)j * gs + kk) * 4);
  for (int32_t oy = 0; oy < oh; oy++) {
    const f32 *xq = xr + (int64_t)oy * wp, *gq = g + (int64_t)oy * ow4;
    for (int32_t ox = 0; ox < ow4; ox += 4) {
      v128_t d[4];
#pragma clang loop unroll(full)
      for (int32_t kk = 0; kk < NK; kk++) d[kk] = wasm_v128_load(gq + (int64_t)kk * plane + ox);
#pragma clang loop unroll(full)
      for (int32_t j = 0; j < NJ; j++) {
        const v128_t xv = wasm_v128_load(xq + ox + j);
#pragma clang loop unroll(full)
        for (int32_t kk = 0; kk < NK; kk++) a[j][kk] = ACC(a[j][kk], xv, d[kk]);
      }
    }
  }
#pragma clang loop unroll(full)
  for (int32_t j = 0; j < NJ; j++)
#pragma clang loop unroll(full)
    for (int32_t kk = 0; kk < NK; kk++) wasm_v128_store(acc + ((int64_t)j * gs + kk) * 4, a[j][kk]);
}

#define SMALL_NJ(NK)                                                                       \
  switch (nj) {                                                                            \
  case 5: small_block(xr, wp, g, k, plane, ac, oh, ow4, 5, NK); break;                     \
  case 4: small_block(xr, wp, g, k, plane, ac, oh, ow4, 4, NK); break;                     \
  case 3: small_block(xr, wp, g, k, plane, ac, oh, ow4, 3, NK); break;                     \
  case 2: small_block(xr, wp, g, k, plane, ac, oh, ow4, 2, NK); break;                     \
  default: small_block(xr, wp, g, k, plane, ac, oh, ow4, 1, NK); break;                    \
  }

__attribute__((export_name("cg_small_acc")))
void cg_small_acc(const f32 *x, const f32 *dy, f32 *acc, f32 *scratch, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh,
                  int32_t ow, int32_t k, int32_t fh, int32_t fw, int32_t pad_top, int32_t pad_left, int32_t b_begin, int32_t b_end,
                  int32_t zero, int32_t *next, int32_t tight) {
  const int32_t t_begin = b_begin; /* for CLAIM */
  const int32_t jmax = tight == 1 ? 4 : tight == 2 ? 3 : tight == 3 ? 2 : 5;
  const int32_t ow4 = (ow + 3) & ~3, hp = oh + fh - 1, wp = ow4 + fw - 1;
  const int32_t plane = oh * ow4;
  if (zero) __builtin_memset(acc, 0, (unsigned long)(4 * (int64_t)fh * fw * c * k) * sizeof(f32));
  if (b_end > nb) b_end = nb;
  f32 *xp = scratch, *dt = scratch + (int64_t)c * hp * wp;
  /* Blocks of output channels: 3 with up to 3 taps a row (9 accumulators), else 2 (up to 10). */
  const int32_t nkmax = fw <= 3 ? 3 : 2;
  for (int32_t b = CLAIM(b_begin, 1); b < b_end; b = CLAIM(b + 1, 1)) {
    /* x's image, planar and zero-padded: rows outside the image and the columns left and right of it zero,
       the rest copied (one channel: 4 floats at a time). */
    const f32 *xi = x + (int64_t)b * h * w * c;
    const int32_t xl = pad_left < wp ? pad_left : wp, xe = pad_left + w < wp ? pad_left + w : wp;
    for (int32_t ch = 0; ch < c; ch++)
      for (int32_t yy = 0; yy < hp; yy++) {
        const int32_t sy = yy - pad_top;
        f32 *o = xp + ((int64_t)ch * hp + yy) * wp;
        if (sy < 0 || sy >= h) {
          for (int32_t xx = 0; xx < wp; xx++) o[xx] = 0.0f;
          continue;
        }
        const f32 *s = xi + ((int64_t)sy * w - pad_left) * c + ch;
        int32_t xx = 0;
        for (; xx < xl; xx++) o[xx] = 0.0f;
        if (c == 1)
          for (; xx + 4 <= xe; xx += 4) wasm_v128_store(o + xx, wasm_v128_load(s + xx));
        for (; xx < xe; xx++) o[xx] = s[(int64_t)xx * c];
        for (; xx < wp; xx++) o[xx] = 0.0f;
      }
    /* dy's image, planar, zeros past ow: 4 positions x 4 channels by one 4x4 transpose. */
    const f32 *gi = dy + (int64_t)b * oh * ow * k;
    const int32_t k4 = k & ~3;
    for (int32_t oy = 0; oy < oh; oy++) {
      const f32 *s = gi + (int64_t)oy * ow * k;
      f32 *o = dt + (int64_t)oy * ow4;
      int32_t ox = 0;
      for (; ox + 4 <= ow; ox += 4) {
        const f32 *s0 = s + (int64_t)ox * k;
        int32_t kk = 0;
        for (; kk < k4; kk += 4) {
          const v128_t r0 = wasm_v128_load(s0 + kk), r1 = wasm_v128_load(s0 + k + kk);
          const v128_t r2 = wasm_v128_load(s0 + 2 * k + kk), r3 = wasm_v128_load(s0 + 3 * k + kk);
          const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
          const v128_t t2 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
          f32 *q = o + (int64_t)kk * plane + ox;
          wasm_v128_store(q, wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5));
          wasm_v128_store(q + plane, wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7));
          wasm_v128_store(q + 2 * plane, wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5));
          wasm_v128_store(q + 3 * plane, wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7));
        }
        for (; kk < k; kk++) {
          v128_t v = wasm_v128_load32_zero(s0 + kk);
          v = wasm_v128_load32_lane(s0 + k + kk, v, 1);
          v = wasm_v128_load32_lane(s0 + 2 * k + kk, v, 2);
          v = wasm_v128_load32_lane(s0 + 3 * k + kk, v, 3);
          wasm_v128_store(o + (int64_t)kk * plane + ox, v);
        }
      }
      for (; ox < ow; ox++)
        for (int32_t kk = 0; kk < k; kk++) o[(int64_t)kk * plane + ox] = s[(int64_t)ox * k + kk];
      for (; ox < ow4; ox++)
        for (int32_t kk = 0; kk < k; kk++) o[(int64_t)kk * plane + ox] = 0.0f;
    }
    for (int32_t ch = 0; ch < c; ch++)
      for (int32_t i = 0; i < fh; i++)
        for (int32_t j0 = 0; j0 < fw;) {
          const int32_t nj = fw - j0 < jmax ? fw - j0 : jmax;
          /* tight: at most 8 accumulators (V8 keeps 8 in registers; 9-10 spill them every step). */
          const int32_t nkm = !tight ? nkmax : nj >= 3 ? 2 : 4;
          const f32 *xr = xp + ((int64_t)ch * hp + i) * wp + j0;
          for (int32_t k0 = 0; k0 < k;) {
            const int32_t nk = k - k0 < nkm ? k - k0 : nkm;
            const f32 *g = dt + (int64_t)k0 * plane;
            f32 *ac = acc + ((((int64_t)ch * fh + i) * fw + j0) * k + k0) * 4;
            if (nk == 4) {
              SMALL_NJ(4)
            } else if (nk == 3) {
              SMALL_NJ(3)
            } else if (nk == 2) {
              SMALL_NJ(2)
            } else {
              SMALL_NJ(1)
            }
            k0 += nk;
          }
          j0 += nj;
        }
  }
}
#undef SMALL_NJ

/* dW[i][j][ch][k] = the 4 lanes of acc0 (+ acc1, may be 0) at [ch][i][j][k], for ch in [c_begin, c_end). */
__attribute__((export_name("cg_small_finish")))
void cg_small_finish(const f32 *acc0, const f32 *acc1, f32 *dw, int32_t c, int32_t k, int32_t fh, int32_t fw, int32_t c_begin,
                     int32_t c_end) {
  for (int32_t ch = c_begin; ch < c_end; ch++)
    for (int32_t i = 0; i < fh; i++)
      for (int32_t j = 0; j < fw; j++)
        for (int32_t kk = 0; kk < k; kk++) {
          const int64_t a = ((((int64_t)ch * fh + i) * fw + j) * k + kk) * 4;
          v128_t v = wasm_v128_load(acc0 + a);
          if (acc1) v = ADD(v, wasm_v128_load(acc1 + a));
          const v128_t hi = wasm_i32x4_shuffle(v, v, 2, 3, 0, 1);
          v = ADD(v, hi);
          dw[(((int64_t)i * fw + j) * c + ch) * k + kk] = wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1);
        }
}

/*
 * Few input channels (fewer than 8), no padding, no dilation, any stride, k % 8 == 0 (lenet5's 5x5 valid
 * 6->16): the filter gradient as an implicit GEMM that reads x in place. For filter row fi, patch values
 * r = fj·c + ch (0 <= r < fw·c) of output position (oy, ox) are fw·c contiguous floats of x's row
 * sh·oy + fi starting at pixel sw·ox: a 4x8 register tile (4 consecutive r from x, 8 channels of dy's row)
 * accumulates over an image's positions with no patch packed, as tile4x8t does over packed patches.
 * Groups of 4 values start at 4g; the last group of a row starts at fw·c - 4 (it overlaps the one before
 * instead of reading past the row; cg_igemm_finish takes each value from one group). fw·c >= 4.
 * acc: fh·G·4·k floats, G = ceil(fw·c / 4), [fi][g][4][k]; images [b_begin, b_end) (next: as
 * cg_wino4_acc's, one image per claim); zero: clear acc first.
 */
__attribute__((export_name("cg_igemm_acc")))
void cg_igemm_acc(const f32 *x, const f32 *dy, f32 *acc, int32_t nb, int32_t h, int32_t w, int32_t c, int32_t oh, int32_t ow,
                  int32_t k, int32_t fh, int32_t fw, int32_t sh, int32_t sw, int32_t b_begin, int32_t b_end, int32_t zero,
                  int32_t *next) {
  const int32_t t_begin = b_begin; /* for CLAIM */
  const int32_t fc = fw * c, G = (fc + 3) >> 2;
  const int32_t xs = sw * c;               /* x step per output column */
  const int64_t xrow = (int64_t)w * c;     /* x row */
  if (zero) __builtin_memset(acc, 0, (unsigned long)((int64_t)fh * G * 4 * k) * sizeof(f32));
  if (b_end > nb) b_end = nb;
  for (int32_t b = CLAIM(b_begin, 1); b < b_end; b = CLAIM(b + 1, 1)) {
    const f32 *xb = x + (int64_t)b * h * xrow;
    const f32 *gb = dy + (int64_t)b * oh * ow * k;
    for (int32_t fi = 0; fi < fh; fi++)
      for (int32_t g = 0; g < G; g++) {
        const int32_t r0 = 4 * g + 4 <= fc ? 4 * g : fc - 4;
        f32 *cg = acc + ((int64_t)fi * G + g) * 4 * k;
        for (int32_t j = 0; j < k; j += 8) {
          f32 *c0 = cg + j, *c1 = c0 + k, *c2 = c0 + 2 * k, *c3 = c0 + 3 * k;
          v128_t c00 = wasm_v128_load(c0), c01 = wasm_v128_load(c0 + 4);
          v128_t c10 = wasm_v128_load(c1), c11 = wasm_v128_load(c1 + 4);
          v128_t c20 = wasm_v128_load(c2), c21 = wasm_v128_load(c2 + 4);
          v128_t c30 = wasm_v128_load(c3), c31 = wasm_v128_load(c3 + 4);
          const f32 *bq = gb + j;
          for (int32_t oy = 0; oy < oh; oy++) {
            const f32 *a = xb + ((int64_t)oy * sh + fi) * xrow + r0;
            for (int32_t ox = 0; ox < ow; ox++, a += xs, bq += k) {
              const v128_t b0 = wasm_v128_load(bq), b1 = wasm_v128_load(bq + 4);
              v128_t v = wasm_v128_load32_splat(a);
              c00 = ACC(c00, v, b0); c01 = ACC(c01, v, b1);
              v = wasm_v128_load32_splat(a + 1);
              c10 = ACC(c10, v, b0); c11 = ACC(c11, v, b1);
              v = wasm_v128_load32_splat(a + 2);
              c20 = ACC(c20, v, b0); c21 = ACC(c21, v, b1);
              v = wasm_v128_load32_splat(a + 3);
              c30 = ACC(c30, v, b0); c31 = ACC(c31, v, b1);
            }
          }
          wasm_v128_store(c0, c00); wasm_v128_store(c0 + 4, c01);
          wasm_v128_store(c1, c10); wasm_v128_store(c1 + 4, c11);
          wasm_v128_store(c2, c20); wasm_v128_store(c2 + 4, c21);
          wasm_v128_store(c3, c30); wasm_v128_store(c3 + 4, c31);
        }
      }
  }
}

/* dW[fi][r][:] (r = fj·c + ch: tfjs's [fh][fw][c][k] order) from cg_igemm_acc's acc0 (+ acc1, may be 0). */
__attribute__((export_name("cg_igemm_finish")))
void cg_igemm_finish(const f32 *acc0, const f32 *acc1, f32 *dw, int32_t c, int32_t k, int32_t fh, int32_t fw) {
  const int32_t fc = fw * c, G = (fc + 3) >> 2, k4 = k & ~3;
  for (int32_t fi = 0; fi < fh; fi++)
    for (int32_t r = 0; r < fc; r++) {
      /* Group of r: the last group starts at fc - 4. */
      const int32_t g = r >> 2 < G - 1 ? r >> 2 : G - 1;
      const int32_t r0 = 4 * g + 4 <= fc ? 4 * g : fc - 4;
      const int64_t at = (((int64_t)fi * G + g) * 4 + (r - r0)) * k;
      const f32 *a = acc0 + at, *bb = acc1 ? acc1 + at : 0;
      f32 *o = dw + ((int64_t)fi * fc + r) * k;
      for (int32_t j = 0; j < k4; j += 4) {
        v128_t v = wasm_v128_load(a + j);
        if (bb) v = ADD(v, wasm_v128_load(bb + j));
        wasm_v128_store(o + j, v);
      }
      for (int32_t j = k4; j < k; j++) o[j] = bb ? a[j] + bb[j] : a[j];
    }
}
