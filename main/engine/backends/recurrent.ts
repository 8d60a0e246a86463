/**
 * An LSTM over a whole sequence as ONE op with its own gradient (backpropagation through time).
 *
 * tfjs's RNN layer loops over the steps with one x·W product, one h·U product, a bias add, a split,
 * four gate activations and the cell update per step (about 15 kernels a step, plus transposes,
 * unstack and stack), and differentiates through all of them. Here:
 *   - the input projection x·W + b for ALL steps is one GEMM (tfjs ops, so tfjs differentiates it:
 *     dx and dW are each one GEMM over all steps, db one sum);
 *   - the recurrence (h·U, gates, cell update, the mask) is one kernel call per direction on wasm with
 *     our module (native/recurrent.c rnn_lstm_forward), which keeps the activated gates, c before the
 *     step, tanh(c) and h before the step;
 *   - its gradient is one call (rnn_lstm_backward: the gate gradients and dh·Uᵀ through time, last step
 *     first) and one GEMM dU = Σ_t h_{t−1}ᵀ·dz_t over all steps.
 * The rows of a batch are independent through time, so the helper thread takes half of them for the
 * whole sequence (one hand-off per call, not per step). Elsewhere (another backend, or our module off:
 * LAYERFORGE_NATIVE_KERNELS=0) the same op runs as tfjs ops per step, still with the one input GEMM.
 * Semantics are tfjs's LSTMCell + rnn(): gates i, f, c, o in that order; goBackwards reads the inputs
 * last first and returns the per-step outputs in processing order; a mask carries h and c through the
 * masked steps.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels } from './native';
import { WASM } from './kernels';

export const LSTM_KERNEL = 'LayerforgeLstmSequence';
export const LSTM_GRAD_KERNEL = 'LayerforgeLstmSequenceGrad';

/** The gate activations the op computes (tfjs's names). */
export type LstmGateActivation = 'sigmoid' | 'hardSigmoid';

export interface LstmSequenceOptions {
  /** Read the inputs last step first (tfjs's goBackwards); outputs stay in processing order. */
  goBackwards?: boolean;
  /** Every step's output [N, T, U] (else the last one, [N, U]). */
  returnSequences?: boolean;
  recurrentActivation?: LstmGateActivation;
  /** Initial state [N, U] each (zeros when absent). */
  h0?: tfjs.Tensor | null;
  c0?: tfjs.Tensor | null;
  /** [N, T]: 0 (or false) skips that step for that row, carrying h and c (tfjs's rnn()). */
  mask?: tfjs.Tensor | null;
}

type TensorInfo = tfjs.TensorInfo;
interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

const ACT = { sigmoid: 0, hardSigmoid: 1 } as const;
/** Below this many rows the helper thread is not worth a hand-off. */
const SPLIT_ROWS = 8;

const registeredOn = new WeakSet<object>();

/** Registers the two wasm kernels (idempotent per tf instance). The op works without them. */
export function registerRecurrentKernels(tf: Tf): void {
  if (registeredOn.has(tf) || tf.getKernel(LSTM_KERNEL, WASM)) return;
  registeredOn.add(tf);
  tf.registerKernel({
    kernelName: LSTM_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${LSTM_KERNEL}: Layerforge's wasm kernels are not loaded`);
      const { xw, u, h0, c0, mask } = inputs as Record<'xw' | 'u' | 'h0' | 'c0' | 'mask', TensorInfo | undefined>;
      if (!xw || !u || !h0 || !c0) throw new Error(`${LSTM_KERNEL}: missing input (xw, u, h0 and c0 are required)`);
      const [n, steps, g4] = xw.shape as [number, number, number];
      const units = g4 / 4;
      const b = backend as unknown as HeapBackend;
      const hseq = b.makeOutput([n, steps, units], 'float32');
      const gates = b.makeOutput([n, steps, g4], 'float32');
      const cprev = b.makeOutput([n, steps, units], 'float32');
      const tanhc = b.makeOutput([n, steps, units], 'float32');
      const hprev = b.makeOutput([n, steps, units], 'float32');
      const at = (t: TensorInfo | undefined) => (t ? heapOffset(backend, t.dataId) : 0);
      const a = attrs as unknown as { goBackwards: boolean; act: number };
      const args = [at(xw), at(u), at(h0), at(c0), at(mask), at(hseq), at(gates), at(cprev), at(tanhc), at(hprev), n, steps, units, a.goBackwards ? 1 : 0, a.act];
      const run = native.fn('rnn_lstm_forward');
      const half = (n >> 3) << 2;
      if (native.helper?.ready && n >= SPLIT_ROWS) native.helper.alongside('rnn_lstm_forward', [...args, half, n], () => run(...args, 0, half));
      else run(...args, 0, n);
      // The last step's h (the layer's output without returnSequences), copied out here rather than by a Slice kernel.
      const hlast = b.makeOutput([n, units], 'float32');
      const from = b.typedArrayFromHeap(hseq), to = b.typedArrayFromHeap(hlast);
      for (let r = 0; r < n; r++) to.set(from.subarray((r * steps + steps - 1) * units, (r * steps + steps) * units), r * units);
      return [hseq, gates, cprev, tanhc, hprev, hlast];
    },
  });
  tf.registerKernel({
    kernelName: LSTM_GRAD_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${LSTM_GRAD_KERNEL}: Layerforge's wasm kernels are not loaded`);
      const { dy, ut, gates, cprev, tanhc, mask } = inputs as Record<'dy' | 'ut' | 'gates' | 'cprev' | 'tanhc' | 'mask', TensorInfo | undefined>;
      if (!dy || !ut || !gates || !cprev || !tanhc) throw new Error(`${LSTM_GRAD_KERNEL}: missing input`);
      const [n, steps, g4] = gates.shape as [number, number, number];
      const units = g4 / 4;
      const b = backend as unknown as HeapBackend;
      const dz = b.makeOutput([n, steps, g4], 'float32');
      const dh = b.makeOutput([n, units], 'float32');
      const dc = b.makeOutput([n, units], 'float32');
      const at = (t: TensorInfo | undefined) => (t ? heapOffset(backend, t.dataId) : 0);
      const a = attrs as unknown as { goBackwards: boolean; act: number };
      const seq = dy.shape.length === 3 ? 1 : 0;
      const args = [at(dy), seq, at(ut), at(gates), at(cprev), at(tanhc), at(mask), at(dz), at(dh), at(dc), n, steps, units, a.goBackwards ? 1 : 0, a.act];
      const run = native.fn('rnn_lstm_backward');
      const half = (n >> 3) << 2;
      if (native.helper?.ready && n >= SPLIT_ROWS) native.helper.alongside('rnn_lstm_backward', [...args, half, n], () => run(...args, 0, half));
      else run(...args, 0, n);
      return [dz, dh, dc];
    },
  });
}

/** Whether this backend runs our fused kernels (wasm with our module loaded and exporting them). */
export function lstmFusedHere(tf: Tf): boolean {
  if (tf.getBackend() !== WASM || tf.getKernel(LSTM_KERNEL, WASM) == null) return false;
  const native = nativeKernels(tf.backend());
  return native !== null && native.has('rnn_lstm_forward');
}

/** The gate activation as tfjs computes it (hardSigmoid: clip(0.2x + 0.5, 0, 1)). */
function gateOps(tf: Tf, act: LstmGateActivation): (x: tfjs.Tensor) => tfjs.Tensor {
  return act === 'hardSigmoid' ? (x) => tf.clipByValue(tf.add(0.5, tf.mul(0.2, x)), 0, 1) : (x) => tf.sigmoid(x);
}

/**
 * An LSTM layer's output over x [N, T, F] with kernel [F, 4U], recurrentKernel [U, 4U] and bias [4U]
 * (or null): [N, T, U] with returnSequences, else [N, U]; differentiable with respect to x, the three
 * weights and h0 / c0. Activation tanh; gates sigmoid or hardSigmoid.
 */
export function lstmSequence(tf: Tf, x: tfjs.Tensor, kernel: tfjs.Tensor, recurrentKernel: tfjs.Tensor, bias: tfjs.Tensor | null, options: LstmSequenceOptions = {}): tfjs.Tensor {
  if (x.rank !== 3) throw new Error(`lstmSequence: x must be [batch, steps, features], got shape [${x.shape.join(', ')}]`);
  const [n, steps, features] = x.shape as [number, number, number];
  const g4 = kernel.shape[1]!;
  const units = g4 / 4;
  if (kernel.rank !== 2 || kernel.shape[0] !== features || g4 % 4 !== 0) throw new Error(`lstmSequence: kernel must be [${features}, 4·units], got [${kernel.shape.join(', ')}]`);
  if (recurrentKernel.rank !== 2 || recurrentKernel.shape[0] !== units || recurrentKernel.shape[1] !== g4) {
    throw new Error(`lstmSequence: recurrentKernel must be [${units}, ${g4}], got [${recurrentKernel.shape.join(', ')}]`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g4)) throw new Error(`lstmSequence: bias must be [${g4}], got [${bias.shape.join(', ')}]`);
  const mask0 = options.mask ?? null;
  if (mask0 && (mask0.rank !== 2 || mask0.shape[0] !== n || mask0.shape[1] !== steps)) {
    throw new Error(`lstmSequence: mask must be [${n}, ${steps}], got [${mask0.shape.join(', ')}]`);
  }
  const goBackwards = options.goBackwards === true;
  const returnSequences = options.returnSequences === true;
  const act = options.recurrentActivation ?? 'sigmoid';
  if (!(act in ACT)) throw new Error(`lstmSequence: recurrentActivation must be sigmoid or hardSigmoid, got '${String(act)}'`);
  const h0 = options.h0 ?? tf.zeros([n, units]);
  const c0 = options.c0 ?? tf.zeros([n, units]);
  // As tfjs's rnn(): any non-zero mask value keeps the step.
  const mask = mask0 ? tf.cast(tf.cast(mask0, 'bool'), 'float32') : null;
  // The input projection of every step: one GEMM (+ the bias), differentiated by tfjs.
  let xw = tf.matMul(tf.reshape(x, [n * steps, features]), kernel);
  if (bias) xw = tf.add(xw, bias);
  xw = tf.reshape(xw, [n, steps, g4]);

  if (lstmFusedHere(tf)) {
    const attrs = { goBackwards, act: ACT[act] };
    const op = tf.customGrad(((xwi: tfjs.Tensor, ui: tfjs.Tensor, hi: tfjs.Tensor, ci: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
      const inputs: Record<string, tfjs.Tensor> = { xw: xwi, u: ui, h0: hi, c0: ci };
      if (mask) inputs.mask = mask;
      const [hseq, gates, cprev, tanhc, hprev, hlast] = tf.engine().runKernel(LSTM_KERNEL, inputs as unknown as tfjs.NamedTensorMap, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
      save([ui, gates!, cprev!, tanhc!, hprev!, ...(mask ? [mask] : [])]);
      const value = returnSequences ? hseq! : hlast!;
      return {
        value,
        gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
          const [su, sg, sc, st, sh, sm] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor | undefined];
          const gradInputs: Record<string, tfjs.Tensor> = { dy, ut: tf.transpose(su), gates: sg, cprev: sc, tanhc: st };
          if (sm) gradInputs.mask = sm;
          const [dz, dh0, dc0] = tf.engine().runKernel(LSTM_GRAD_KERNEL, gradInputs as unknown as tfjs.NamedTensorMap, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
          // dU = Σ over rows and steps of h_{t−1}ᵀ·dz_t: one GEMM.
          const du = tf.matMul(tf.reshape(sh, [n * steps, units]), tf.reshape(dz!, [n * steps, g4]), true, false);
          return [dz!, du, dh0!, dc0!];
        },
      };
    }) as unknown as Parameters<Tf['customGrad']>[0]);
    return (op as unknown as (a: tfjs.Tensor, b: tfjs.Tensor, c: tfjs.Tensor, d: tfjs.Tensor) => tfjs.Tensor)(xw, recurrentKernel, h0, c0);
  }

  // The same recurrence as tfjs ops (any backend): per step one h·U product, the gates and the update.
  const gate = gateOps(tf, act);
  // Per-step slices (not unstack: tfjs's Unpack gradient fails on a single step).
  const stepOf = (t: number) => tf.reshape(tf.slice(xw, [0, t, 0], [n, 1, g4]), [n, g4]);
  const maskOf = (t: number) => tf.slice(mask!, [0, t], [n, 1]);
  let h = h0, c = c0;
  const outputs: tfjs.Tensor[] = [];
  for (let s = 0; s < steps; s++) {
    const t = goBackwards ? steps - 1 - s : s;
    const z = tf.add(stepOf(t), tf.matMul(h, recurrentKernel));
    const [zi, zf, zc, zo] = tf.split(z, 4, 1) as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
    let c1 = tf.add(tf.mul(gate(zf), c), tf.mul(gate(zi), tf.tanh(zc)));
    let h1 = tf.mul(gate(zo), tf.tanh(c1));
    if (mask) {
      const m = maskOf(t), keep = tf.sub(1, m);
      h1 = tf.add(tf.mul(h1, m), tf.mul(h, keep));
      c1 = tf.add(tf.mul(c1, m), tf.mul(c, keep));
    }
    h = h1;
    c = c1;
    if (returnSequences) outputs.push(h);
  }
  return returnSequences ? tf.stack(outputs, 1) : h;
}
