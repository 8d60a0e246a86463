/**
 * The tensors a kernel's gradient needs (tfjs-core's engine saves each input/output a gradient names, and
 * what customGrad's save() gets) are copies made by engine.clone: an Identity kernel through runKernel
 * (dispatch, profiling hooks, a new tensor) plus a tape node linking the copy to its source. A tiny
 * model pays that ~90 times per training step (transformer-classifier), several µs each. The copy only
 * has to share the buffer and hold a reference, which is what wasm's Identity does; the tape node
 * matters only for a gradient of a gradient (the backward pass recorded on an outer tape). So on wasm,
 * at gradient depth 1 (one tape: a training step), the copy is made directly: a tensor on the same
 * dataId, the backend's refCount raised, tracked as Identity's output would be. Deeper nesting, other
 * backends and other dtypes take tfjs's own clone. LAYERFORGE_FAST_SAVE=0 turns it off.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';

interface EngineInternals {
  state: { gradientDepth: number; tensorInfo: WeakMap<object, { backend: unknown }> };
  backend: unknown;
  clone(x: tfjs.Tensor): tfjs.Tensor;
  makeTensorFromTensorInfo(info: { dataId: object; shape: number[]; dtype: string }, backend: unknown): tfjs.Tensor;
  __layerforgeFastSave?: boolean;
}

let enabled = process.env.LAYERFORGE_FAST_SAVE !== '0';

/** For benchmarks and tests: turn the direct copy on (the default) or off. */
export function setFastSaveClone(on: boolean): void {
  enabled = on;
}

/** Installs the direct copy on this tf instance's engine (idempotent). */
export function installFastSaveClone(tf: Tf): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.__layerforgeFastSave) return;
  engine.__layerforgeFastSave = true;
  const original = engine.clone;
  engine.clone = function (this: EngineInternals, x: tfjs.Tensor): tfjs.Tensor {
    if (!enabled || this.state.gradientDepth !== 1 || tf.getBackend() !== 'wasm' || (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool')) return original.call(this, x);
    const backend = this.state.tensorInfo.get(x.dataId)?.backend;
    if (backend !== this.backend) return original.call(this, x);
    const y = this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype }, backend);
    (backend as { incRef(dataId: object): void }).incRef(x.dataId);
    return y;
  };
}
