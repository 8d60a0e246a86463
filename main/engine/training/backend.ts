/**
 * Backend choice for a run, through main/engine/backends' selectBackend (best first: tensorflow-gpu >
 * webgpu on a hardware adapter > tensorflow > wasm > cpu, with our wasm gradient kernels). 'auto' with a
 * probe context times the model on every candidate (probe.ts) and takes the fastest.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { selectBackend, type GpuAdapterReport } from '../backends';
import { measureForModel, type ProbeContext } from './probe';
import type { BackendName } from './types';

export type Tf = typeof tfjs;

export interface BackendChoice {
  name: string;
  reason: string;
  tf: Tf;
  /** webgpu: the adapter it runs on. */
  adapter?: GpuAdapterReport;
}

/**
 * Picks and initialises the backend: 'auto' = best available (measured on the model when `probe` is
 * given), otherwise forced (throws if it cannot start).
 */
export async function chooseBackend(requested: BackendName | 'auto' = 'auto', probe?: ProbeContext): Promise<BackendChoice> {
  // pytorch runs start as a process (main/engine/pytorch/port.ts startTrainingRun), never in this worker.
  if (requested === 'pytorch') throw new Error("the pytorch backend trains as a process (torchrun), not in the tfjs worker: start the run through startTrainingRun");
  const r = await selectBackend(requested === 'auto' ? (probe ? { measure: measureForModel(probe) } : {}) : { force: requested });
  const adapter = r.name === 'webgpu' ? r.tried.find((t) => t.name === 'webgpu')?.adapter : undefined;
  return { name: r.name, reason: r.reason, tf: r.tf, ...(adapter ? { adapter } : {}) };
}
