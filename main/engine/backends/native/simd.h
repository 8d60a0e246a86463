/*
 * SIMD helpers shared by the modules in native/ (each C file is its own wasm module, so these are
 * header-only, always inlined; build.mjs rebuilds a module whenever it builds, header included).
 *
 * Multiply-add. A source marked `// layerforge: relaxed-simd` is also built with clang-16
 * -mrelaxed-simd -DLF_RELAXED=1: there ACC(acc, a, b) = acc + a·b and MADD(a, b, c) = a·b + c are one
 * f32x4.relaxed_madd, which V8 compiles to an FMA (one rounding) where the CPU has one and to a
 * multiply then an add elsewhere. Without LF_RELAXED they are the multiply and the add. Use them where
 * many independent accumulators hide the FMA's latency (GEMM tiles, Winograd products, filter
 * gradients) and in polynomials (exp4, tanh4, erf); not in single-accumulator sums (layer norm, the
 * softmax gradient), where the FMA's latency (4 cycles on AMD Zen 4 against 3 for an add) lengthens the
 * loop-carried chain (the relaxed build measured ~10% slower on layer_norm_grad).
 */
#ifndef LAYERFORGE_SIMD_H
#define LAYERFORGE_SIMD_H

#include <stdint.h>
#include <wasm_simd128.h>

typedef float f32;

#ifdef LF_RELAXED
#define MADD(a, b, c) ((v128_t)__builtin_wasm_relaxed_madd_f32x4((__f32x4)(a), (__f32x4)(b), (__f32x4)(c)))
#define ACC(acc, a, b) MADD(a, b, acc)
#else
#define MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul(a, b), c)
#define ACC(acc, a, b) wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))
#endif

/*
 * e^r for the reduced argument of exp4 / exp4_le0: r = x − n·ln2 (ln2 in two parts, Cody–Waite), then its
 * degree-6 Taylor polynomial (|r| <= ln2/2, relative error ~2e-7); the caller multiplies by 2^n.
 */
__attribute__((always_inline)) static inline v128_t exp_poly(v128_t x, v128_t n) {
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.0f / 720.0f);
  p = MADD(p, r, wasm_f32x4_splat(1.0f / 120.0f));
  p = MADD(p, r, wasm_f32x4_splat(1.0f / 24.0f));
  p = MADD(p, r, wasm_f32x4_splat(1.0f / 6.0f));
  p = MADD(p, r, wasm_f32x4_splat(0.5f));
  p = MADD(p, r, wasm_f32x4_splat(1.0f));
  p = MADD(p, r, wasm_f32x4_splat(1.0f));
  return p;
}

/*
 * exp(x) for 4 lanes: x = n·ln2 + r with |r| <= ln2/2 (Cephes' two-constant range reduction), e^r by
 * its degree-6 Taylor polynomial (relative error ~2e-7 over that range), 2^n by building the float's
 * exponent bits. x is clamped to [-87, 88] (results below ~1.6e-38 are not needed here).
 */
__attribute__((always_inline)) static inline v128_t exp4(v128_t x) {
  x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f)), wasm_f32x4_splat(88.0f));
  const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  const v128_t p = exp_poly(x, n);
  const v128_t pow2n = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, pow2n);
}

/*
 * exp(x) for x <= 0 (NaN stays NaN; below −87 it is exp(−87) ≈ 1.6e-38, as exp4): the same range reduction and
 * polynomial as exp4 (same results to ~1 ulp), but V8 compiles f32x4.min/max (NaN-exact: ~7 x64 instructions each),
 * nearest and i32x4.trunc_sat_f32x4_s (~10) to long sequences; pmax (one maxps) and rounding by adding 1.5·2^23
 * (n = round(x·log2 e) then sits in t's low mantissa bits, so (bits(t) + 127) << 23 is 2^n's float: the magic's own
 * bits shift out) avoid them. For softmax (x − max), cross-entropy (x − logsumexp) and GELU's −x²/2.
 */
__attribute__((always_inline)) static inline v128_t exp4_le0(v128_t x) {
  x = wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.0f));
  const v128_t magic = wasm_f32x4_splat(12582912.0f);
  const v128_t t = MADD(x, wasm_f32x4_splat(1.44269504088896341f), magic);
  const v128_t n = wasm_f32x4_sub(t, magic);
  const v128_t p = exp_poly(x, n);
  return wasm_f32x4_mul(p, wasm_i32x4_shl(wasm_i32x4_add(t, wasm_i32x4_splat(127)), 23));
}

/* The logistic sigmoid 1/(1 + e^{-x}) for 4 lanes. */
__attribute__((always_inline)) static inline v128_t sigmoid4(v128_t x) {
  return wasm_f32x4_div(wasm_f32x4_splat(1.0f), wasm_f32x4_add(wasm_f32x4_splat(1.0f), exp4(wasm_f32x4_neg(x))));
}

/*
 * tanh for 4 lanes: an odd polynomial below |x| 0.625 (Cephes tanhf, keeps small values' relative
 * precision), else 1 − 2/(e^{2|x|} + 1) with x's sign.
 */
__attribute__((always_inline)) static inline v128_t tanh4(v128_t x) {
  const v128_t ax = wasm_f32x4_abs(x);
  const v128_t e = exp4(wasm_f32x4_mul(ax, wasm_f32x4_splat(-2.0f)));
  v128_t big = wasm_f32x4_div(wasm_f32x4_sub(wasm_f32x4_splat(1.0f), e), wasm_f32x4_add(wasm_f32x4_splat(1.0f), e));
  big = wasm_v128_or(big, wasm_v128_and(x, wasm_i32x4_splat((int32_t)0x80000000u)));
  const v128_t z = wasm_f32x4_mul(x, x);
  v128_t p = wasm_f32x4_splat(-5.70498872745e-3f);
  p = MADD(p, z, wasm_f32x4_splat(2.06390887954e-2f));
  p = MADD(p, z, wasm_f32x4_splat(-5.37397155531e-2f));
  p = MADD(p, z, wasm_f32x4_splat(1.33314422036e-1f));
  p = MADD(p, z, wasm_f32x4_splat(-3.33332819422e-1f));
  const v128_t small = MADD(wasm_f32x4_mul(p, z), x, x);
  return wasm_v128_bitselect(small, big, wasm_f32x4_lt(ax, wasm_f32x4_splat(0.625f)));
}

/* tfjs's Step for ReLU's gradient, 4 lanes: 1 where x > 0, NaN where x is NaN, else 0. */
__attribute__((always_inline)) static inline v128_t relu_step4(v128_t x) {
  const v128_t s = wasm_v128_bitselect(wasm_f32x4_splat(1.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_gt(x, wasm_f32x4_splat(0.0f)));
  return wasm_v128_bitselect(wasm_f32x4_splat(__builtin_nanf("")), s, wasm_f32x4_ne(x, x));
}
/* The same for one float (the tails of the vector loops). */
__attribute__((always_inline)) static inline f32 relu_step1(f32 x) {
  return x > 0.0f ? 1.0f : (x != x ? __builtin_nanf("") : 0.0f);
}

/* 4 lanes from p (only `left` of them when left < 4, the others 0), and back (only `left` lanes). */
__attribute__((always_inline)) static inline v128_t load_part(const f32 *p, int32_t left) {
  if (left >= 4) return wasm_v128_load(p);
  return wasm_f32x4_make(p[0], left > 1 ? p[1] : 0.0f, left > 2 ? p[2] : 0.0f, 0.0f);
}
__attribute__((always_inline)) static inline void store_part(f32 *p, int32_t left, v128_t v) {
  if (left >= 4) {
    wasm_v128_store(p, v);
    return;
  }
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (left > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (left > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

/*
 * One reduction step of the 4x8 register tile, with accumulators c00, c01, c10, … c31 in scope:
 * c{r}0, c{r}1 += splat(a{r}[q]) · b[0..4), b[4..8) for the four A rows r = 0..3.
 */
#define TILE4X8_STEP(a0, a1, a2, a3, q, b)                                                     \
  do {                                                                                         \
    const v128_t b0_ = wasm_v128_load(b), b1_ = wasm_v128_load((b) + 4);                       \
    v128_t x_ = wasm_v128_load32_splat((a0) + (q));                                            \
    c00 = ACC(c00, x_, b0_); c01 = ACC(c01, x_, b1_);                                          \
    x_ = wasm_v128_load32_splat((a1) + (q));                                                   \
    c10 = ACC(c10, x_, b0_); c11 = ACC(c11, x_, b1_);                                          \
    x_ = wasm_v128_load32_splat((a2) + (q));                                                   \
    c20 = ACC(c20, x_, b0_); c21 = ACC(c21, x_, b1_);                                          \
    x_ = wasm_v128_load32_splat((a3) + (q));                                                   \
    c30 = ACC(c30, x_, b0_); c31 = ACC(c31, x_, b1_);                                          \
  } while (0)

/*
 * The 4x8 register tile: C[4 x 8] (+)= A[4 x k] · B[k x 8] with 8 accumulators (4 row splats x 2
 * column vectors). A rows at a, a + ar, a + 2ar, a + 3ar (elements p = 0..k-1 contiguous); B rows at
 * b, b + br, … (8 contiguous floats each); C rows at c, c + cr, …. acc: add to C's value, else
 * overwrite it.
 */
__attribute__((always_inline)) static inline void tile4x8(const f32 *a, int32_t ar, const f32 *b, int32_t br, f32 *c, int32_t cr, int32_t k,
                                                          int32_t acc) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  f32 *c1 = c + cr, *c2 = c + 2 * cr, *c3 = c + 3 * cr;
  v128_t c00 = acc ? wasm_v128_load(c) : z, c01 = acc ? wasm_v128_load(c + 4) : z;
  v128_t c10 = acc ? wasm_v128_load(c1) : z, c11 = acc ? wasm_v128_load(c1 + 4) : z;
  v128_t c20 = acc ? wasm_v128_load(c2) : z, c21 = acc ? wasm_v128_load(c2 + 4) : z;
  v128_t c30 = acc ? wasm_v128_load(c3) : z, c31 = acc ? wasm_v128_load(c3 + 4) : z;
  const f32 *a1 = a + ar, *a2 = a + 2 * ar, *a3 = a + 3 * ar;
  for (int32_t p = 0; p < k; p++, b += br) {
    TILE4X8_STEP(a, a1, a2, a3, p, b);
  }
  wasm_v128_store(c, c00); wasm_v128_store(c + 4, c01);
  wasm_v128_store(c1, c10); wasm_v128_store(c1 + 4, c11);
  wasm_v128_store(c2, c20); wasm_v128_store(c2 + 4, c21);
  wasm_v128_store(c3, c30); wasm_v128_store(c3 + 4, c31);
}

/*
 * Dynamic splits between the two threads: both call a kernel with the same range [begin, end) and the same
 * shared counter `next` (an int32 on the heap, 0 at the start); each takes the next `chunk` of the range from
 * it (i32.atomic.rmw.add in the shared build) until none is left, so a thread that starts late (the helper
 * woken from its sleep, or not scheduled at once) takes fewer chunks instead of making the other wait.
 * claim_chunk returns the claimed chunk's start (>= end: nothing left).
 */
__attribute__((always_inline)) static inline int32_t claim_chunk(int32_t *next, int32_t begin, int32_t chunk) {
  return begin + __atomic_fetch_add(next, chunk, __ATOMIC_RELAXED);
}
/*
 * Runs RANGE(s, e) (a call with the chunk's bounds; the range function must be always_inline: kernels are
 * stack-free leaf functions) over [begin, end): chunks claimed from next, or once when next is 0.
 */
#define FOR_CLAIMED(next, chunk, begin, end, RANGE)                                                               \
  for (int32_t s_ = (next) ? claim_chunk((next), (begin), (chunk)) : (begin); s_ < (end);                         \
       s_ = (next) ? claim_chunk((next), (begin), (chunk)) : (end))                                               \
  RANGE(s_, (next) && (end) - s_ > (chunk) ? s_ + (chunk) : (end))

#endif
