/**
 * tfjs-core's scalar formulas and constants, for our plain-TypeScript paths that must compute exactly
 * what tfjs's cpu kernels do (training/fastMlp.ts, text/incremental.ts).
 */

// ops/selu_util.ts
export const SELU_SCALE = 1.0507009873554805;
export const SELU_SCALEALPHA = 1.7580993408473768;

// ops/erf_util.ts
const ERF_P = 0.3275911;
const ERF_A1 = 0.254829592;
const ERF_A2 = -0.284496736;
const ERF_A3 = 1.421413741;
const ERF_A4 = -1.453152027;
const ERF_A5 = 1.061405429;

/** erf as tfjs's cpu Erf kernel computes it (Abramowitz & Stegun 7.1.26). */
export function erf(x: number): number {
  const sign = Math.sign(x);
  const v = Math.abs(x);
  const t = 1.0 / (1.0 + ERF_P * v);
  return sign * (1.0 - (((((ERF_A5 * t + ERF_A4) * t + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t) * Math.exp(-v * v));
}
