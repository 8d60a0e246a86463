/**
 * Backend choice for a run, through main/engine/backends' selectBackend (best first: tensorflow-gpu >
 * tensorflow > wasm > cpu, with our wasm gradient kernels). 'auto' takes the best available one.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { selectBackend } from '../backends';
import type { BackendName } from './types';

export type Tf = typeof tfjs;

export interface BackendChoice {
  name: string;
  reason: string;
  tf: Tf;
}

/** Picks and initialises the backend: 'auto' = best available, otherwise forced (throws if it cannot start). */
export async function chooseBackend(requested: BackendName | 'auto' = 'auto'): Promise<BackendChoice> {
  const r = await selectBackend(requested === 'auto' ? {} : { force: requested });
  return { name: r.name, reason: r.reason, tf: r.tf };
}
