/**
 * Adam with one fused kernel per variable on the wasm backend (kernels.c adam_update): tfjs's
 * AdamOptimizer runs about 13 small kernels per variable per step, each a pass over the weights
 * plus the engine's per-kernel bookkeeping. Same formula, same float32 order of operations, same
 * state (first/second moments as tfjs names them, so getWeights/setWeights and checkpoints are
 * unchanged): this subclass replaces only applyGradients.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels } from './native';
import { WASM } from './kernels';

export const FUSED_ADAM_KERNEL = 'LayerforgeAdamUpdate';

interface WasmOutputBackend {
  makeOutput(shape: number[], dtype: 'float32'): tfjs.TensorInfo;
}

/** Registers the fused kernel for 'wasm' (idempotent). False where our wasm module is unavailable. */
export function registerFusedAdamKernel(tf: Tf): boolean {
  if (tf.getKernel(FUSED_ADAM_KERNEL, WASM)) return true;
  tf.registerKernel({
    kernelName: FUSED_ADAM_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${FUSED_ADAM_KERNEL}: Layerforge's wasm kernels are not loaded`);
      const { x, g, m, v } = inputs as Record<'x' | 'g' | 'm' | 'v', tfjs.TensorInfo>;
      const a = attrs as unknown as { lr: number; b1: number; b2: number; c1: number; c2: number; eps: number };
      const b = backend as unknown as WasmOutputBackend;
      const outs = [b.makeOutput(x.shape, 'float32'), b.makeOutput(x.shape, 'float32'), b.makeOutput(x.shape, 'float32')] as const;
      const at = (t: tfjs.TensorInfo) => heapOffset(backend, t.dataId);
      const n = x.shape.reduce((p, q) => p * q, 1);
      native.adamUpdate(at(x), at(g), at(m), at(v), at(outs[0]), at(outs[1]), at(outs[2]), n, a.lr, a.b1, 1 - a.b1, a.b2, 1 - a.b2, a.c1, a.c2, a.eps);
      return [...outs];
    },
  });
  return true;
}

/** Whether the fused Adam can run on the current backend. */
export function fusedAdamAvailable(tf: Tf): boolean {
  return tf.getBackend() === WASM && nativeKernels(tf.backend()) !== null;
}

interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tfjs.Variable;
  accBeta2: tfjs.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tfjs.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tfjs.Variable } | undefined>;
  iterations_: number | undefined;
  incrementIterations(): void;
}

/** A tfjs AdamOptimizer whose step is the fused kernel. Use only where fusedAdamAvailable(tf). */
export function createFusedAdam(tf: Tf, learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7): tfjs.AdamOptimizer {
  registerFusedAdamKernel(tf);
  class FusedAdam extends tf.AdamOptimizer {
    override applyGradients(variableGradients: tfjs.NamedTensorMap | Array<{ name: string; tensor: tfjs.Tensor }>): void {
      const self = this as unknown as AdamInternals;
      const list = Array.isArray(variableGradients)
        ? variableGradients.map((v) => ({ name: v.name, g: v.tensor }))
        : Object.keys(variableGradients).map((name) => ({ name, g: variableGradients[name] }));
      // Bias corrections 1 - beta^t for this step (t = iterations + 1), as tfjs's accBeta tensors hold.
      const t = (self.iterations_ ?? 0) + 1;
      const c1 = 1 - self.beta1 ** t;
      const c2 = 1 - self.beta2 ** t;
      const attrs = { lr: self.learningRate, b1: self.beta1, b2: self.beta2, c1, c2, eps: self.epsilon };
      tf.tidy(() => {
        list.forEach(({ name, g }, i) => {
          const value = tf.engine().registeredVariables[name];
          if (!value) throw new Error(`Adam: unknown variable '${name}'`);
          self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
          self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
          if (g == null) return;
          const m = self.accumulatedFirstMoment[i].variable;
          const v = self.accumulatedSecondMoment[i].variable;
          const [x1, m1, v1] = tf.engine().runKernel(FUSED_ADAM_KERNEL, { x: value, g, m, v }, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
          m.assign(m1!);
          v.assign(v1!);
          value.assign(x1!);
        });
        // Keep tfjs's own state in step (getWeights / setWeights read it).
        self.accBeta1.assign(tf.scalar(self.beta1 ** (t + 1)));
        self.accBeta2.assign(tf.scalar(self.beta2 ** (t + 1)));
      });
      self.incrementIterations();
    }
  }
  return new FusedAdam(learningRate, beta1, beta2, epsilon);
}
