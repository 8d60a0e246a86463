/**
 * Adam with one fused kernel per variable on the wasm backend (kernels.c adam_update): tfjs's
 * AdamOptimizer runs about 13 small kernels per variable per step, each a pass over the weights
 * plus the engine's per-kernel bookkeeping. Same formula, same float32 order of operations, same
 * state (first/second moments as tfjs names them, so getWeights/setWeights and checkpoints are
 * unchanged): this subclass replaces only applyGradients.
 * Where a variable's and its moments' buffers are their own (the usual case in a training step) the
 * update runs in place on them, without the kernel dispatch (see setFusedAdamInPlace).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels } from './native';
import { WASM } from './kernels';

export const FUSED_ADAM_KERNEL = 'LayerforgeAdamUpdate';

interface WasmOutputBackend {
  makeOutput(shape: number[], dtype: 'float32'): tfjs.TensorInfo;
}

let inPlace = process.env.LAYERFORGE_ADAM_INPLACE !== '0';

/**
 * For benchmarks and tests: whether the fused Adam updates a variable and its two moments in place
 * (on, the default; LAYERFORGE_ADAM_INPLACE=0 starts it off): one native call per variable straight on
 * the heap buffers, no kernel dispatch, no new tensors, no assigns. It applies only where the variable's
 * and its moments' buffers are referenced by nothing else (wasm refCount 1); otherwise that variable
 * takes the kernel path (LayerforgeAdamUpdate + assign).
 */
export function setFusedAdamInPlace(on: boolean): void {
  inPlace = on;
}

/**
 * tfjs-backend-wasm keeps an XNNPACK operator per weight tensor (Conv2D, FusedConv2D, …), with the weights
 * packed into it when first used, keyed by the tensor's id and dropped only when that id is disposed: it
 * assumes a tensor's values never change. An update in place breaks that assumption (the operator keeps
 * computing with the old weights: a CIFAR-10 model evaluated at chance after training), so after each one
 * the id is disposed on the C++ side (which runs its disposal callbacks, freeing the cached operators) and
 * registered again on the same memory. The JS side (dataIdMap, refCount, the heap block) is untouched.
 */
function forgetPacked(backend: WasmRefCounts, t: tfjs.Tensor): void {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) return;
  backend.wasm.tfjs.disposeData(data.id);
  backend.wasm.tfjs.registerTensor(data.id, t.size, data.memoryOffset);
}

interface WasmRefCounts {
  refCount(dataId: object): number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  wasm: { tfjs: { disposeData(id: number): void; registerTensor(id: number, size: number, memoryOffset: number): void } };
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
      const backend = tf.backend();
      const native = inPlace ? nativeKernels(backend) : null;
      // No other tensor (a reshape, a clone, a tensor the variable was made from) shares this buffer: the
      // backend's count is the engine's (tfjs-core keeps its per-dataId count there).
      const sole = (t: tfjs.Tensor) => (backend as unknown as WasmRefCounts).refCount(t.dataId) === 1;
      tf.tidy(() => {
        list.forEach(({ name, g }, i) => {
          const value = tf.engine().registeredVariables[name];
          if (!value) throw new Error(`Adam: unknown variable '${name}'`);
          self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
          self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
          if (g == null) return;
          const m = self.accumulatedFirstMoment[i].variable;
          const v = self.accumulatedSecondMoment[i].variable;
          if (native && value.dtype === 'float32' && g.dtype === 'float32' && sole(value) && sole(m) && sole(v)) {
            // In place (the C loop reads each element before writing it): every buffer is this variable's alone.
            const x = heapOffset(backend, value.dataId);
            const mo = heapOffset(backend, m.dataId);
            const vo = heapOffset(backend, v.dataId);
            native.adamUpdate(x, heapOffset(backend, g.dataId), mo, vo, x, mo, vo, value.size, attrs.lr, attrs.b1, 1 - attrs.b1, attrs.b2, 1 - attrs.b2, c1, c2, attrs.eps);
            forgetPacked(backend as unknown as WasmRefCounts, value);
            return;
          }
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
