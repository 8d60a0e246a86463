/**
 * 2-D projections of embeddings (n rows of d values): PCA by power iteration with deflation on the centred data
 * (X^T X v without forming the d×d covariance, so wide layers cost n·d per step), and UMAP through umap-js
 * (PAIR-code, MIT), seeded so the same request draws the same picture.
 */
import { UMAP } from 'umap-js';
import { mulberry32 } from '../../../shared/random';
import type { ProjectionMethod } from '../../../shared/api/insight';

/** Row-major n × 2 coordinates. */
export function project2d(data: Float32Array, n: number, d: number, method: ProjectionMethod, seed = 1): Float64Array {
  return method === 'pca' ? pca2(data, n, d, seed) : umap2(data, n, d, seed);
}

/** The first two principal components' scores (n × 2), signs fixed so the largest |loading| is positive. */
export function pca2(data: Float32Array, n: number, d: number, seed = 1): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= Math.max(1, n);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = data[i * d + j]! - mean[j]!;
  const rand = mulberry32(seed);
  const out = new Float64Array(n * 2);
  const xv = new Float64Array(n);
  const components: Float64Array[] = [];
  for (let k = 0; k < 2 && k < d; k++) {
    let v = new Float64Array(d).map(() => rand() - 0.5);
    for (let iter = 0; iter < 200; iter++) {
      // w = X^T (X v), less the components found (deflation).
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[i * d + j]! * v[j]!;
        xv[i] = s;
      }
      const w = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        const s = xv[i]!;
        if (s !== 0) for (let j = 0; j < d; j++) w[j]! += x[i * d + j]! * s;
      }
      for (const c of components) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += w[j]! * c[j]!;
        for (let j = 0; j < d; j++) w[j]! -= dot * c[j]!;
      }
      let sq = 0;
      for (let j = 0; j < d; j++) sq += w[j]! * w[j]!;
      const norm = Math.sqrt(sq);
      if (!(norm > 1e-300)) break;
      let change = 0;
      for (let j = 0; j < d; j++) {
        const nv = w[j]! / norm;
        change = Math.max(change, Math.abs(nv - v[j]!));
        w[j] = nv;
      }
      v = w;
      if (change < 1e-9) break;
    }
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!)) big = j;
    if (v[big]! < 0) v = v.map((a) => -a);
    components.push(v);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j]! * v[j]!;
      out[i * 2 + k] = Number.isFinite(s) ? s : 0;
    }
  }
  return out;
}

/** UMAP to 2-D (15 neighbours or fewer for tiny sets, 200 epochs), seeded. */
export function umap2(data: Float32Array, n: number, d: number, seed = 1): Float64Array {
  const out = new Float64Array(n * 2);
  if (n < 3) return pca2(data, n, d, seed);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(data.subarray(i * d, (i + 1) * d)));
  const umap = new UMAP({ nComponents: 2, nNeighbors: Math.max(2, Math.min(15, n - 1)), nEpochs: 200, random: mulberry32(seed) });
  const xy = umap.fit(rows);
  for (let i = 0; i < n; i++) {
    out[i * 2] = xy[i]![0]!;
    out[i * 2 + 1] = xy[i]![1]!;
  }
  return out;
}
