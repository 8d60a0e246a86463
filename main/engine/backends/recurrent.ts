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
 *
 * gruSequence is the same for Keras's GRU (gates z, r, h), reset_after false (tfjs's GRUCell: the reset
 * gate scales h before its product with U_h, so a step has two dependent products, both in the kernel)
 * or true (the reset gate scales h·U_h + b_hh; bias [2, 3U]): rnn_gru_forward / rnn_gru_backward, and
 * dU as one GEMM (reset_after) or two (h_{t−1}ᵀ·dz~_zr and (r ⊙ h_{t−1})ᵀ·dn~).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { nativeKernels } from './native';
import { registerNativeKernel } from './native/heap';
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

const ACT = { sigmoid: 0, hardSigmoid: 1 } as const;
/** Below this many rows the helper thread is not worth a hand-off. */
const SPLIT_ROWS = 8;

/** Runs a recurrent export over rows [0, n): the helper thread takes the second half (whole blocks of 4) when it is worth it. */
function splitRows(native: NonNullable<ReturnType<typeof nativeKernels>>, name: string, args: number[], n: number): void {
  const run = native.fn(name);
  const half = (n >> 3) << 2;
  if (native.helper?.ready && n >= SPLIT_ROWS) native.helper.alongside(name, [...args, half, n], () => run(...args, 0, half));
  else run(...args, 0, n);
}

/** Registers the two wasm kernels (idempotent per tf instance). The op works without them. */
export function registerRecurrentKernels(tf: Tf): void {
  registerGruKernels(tf);
  registerNativeKernel(tf, { name: LSTM_KERNEL, inputs: ['xw', 'u', 'h0', 'c0'], optional: ['mask'] }, ({ native, backend: b, inputs: { xw, u, h0, c0, mask }, attrs, at, output }) => {
    const [n, steps, g4] = xw.shape as [number, number, number];
    const units = g4 / 4;
    const hseq = output([n, steps, units]);
    const gates = output([n, steps, g4]);
    const cprev = output([n, steps, units]);
    const tanhc = output([n, steps, units]);
    const hprev = output([n, steps, units]);
    const a = attrs as unknown as { goBackwards: boolean; act: number };
    const args = [at(xw), at(u), at(h0), at(c0), at(mask), at(hseq), at(gates), at(cprev), at(tanhc), at(hprev), n, steps, units, a.goBackwards ? 1 : 0, a.act];
    const run = native.fn('rnn_lstm_forward');
    const half = (n >> 3) << 2;
    if (native.helper?.ready && n >= SPLIT_ROWS) native.helper.alongside('rnn_lstm_forward', [...args, half, n], () => run(...args, 0, half));
    else run(...args, 0, n);
    // The last step's h (the layer's output without returnSequences), copied out here rather than by a Slice kernel.
    const hlast = output([n, units]);
    const from = b.typedArrayFromHeap(hseq), to = b.typedArrayFromHeap(hlast);
    for (let r = 0; r < n; r++) to.set(from.subarray((r * steps + steps - 1) * units, (r * steps + steps) * units), r * units);
    return [hseq, gates, cprev, tanhc, hprev, hlast];
  });
  registerNativeKernel(tf, { name: LSTM_GRAD_KERNEL, inputs: ['dy', 'ut', 'gates', 'cprev', 'tanhc'], optional: ['mask'] }, ({ native, inputs: { dy, ut, gates, cprev, tanhc, mask }, attrs, at, output }) => {
    const [n, steps, g4] = gates.shape as [number, number, number];
    const units = g4 / 4;
    const dz = output([n, steps, g4]);
    const dh = output([n, units]);
    const dc = output([n, units]);
    const a = attrs as unknown as { goBackwards: boolean; act: number };
    const seq = dy.shape.length === 3 ? 1 : 0;
    const args = [at(dy), seq, at(ut), at(gates), at(cprev), at(tanhc), at(mask), at(dz), at(dh), at(dc), n, steps, units, a.goBackwards ? 1 : 0, a.act];
    const run = native.fn('rnn_lstm_backward');
    const half = (n >> 3) << 2;
    if (native.helper?.ready && n >= SPLIT_ROWS) native.helper.alongside('rnn_lstm_backward', [...args, half, n], () => run(...args, 0, half));
    else run(...args, 0, n);
    return [dz, dh, dc];
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

export const GRU_KERNEL = 'LayerforgeGruSequence';
export const GRU_GRAD_KERNEL = 'LayerforgeGruSequenceGrad';

export interface GruSequenceOptions {
  /** Read the inputs last step first (tfjs's goBackwards); outputs stay in processing order. */
  goBackwards?: boolean;
  /** Every step's output [N, T, U] (else the last one, [N, U]). */
  returnSequences?: boolean;
  recurrentActivation?: LstmGateActivation;
  /**
   * Keras's reset_after: the reset gate scales h·U_h + b_hh (bias [2, 3U]: input bias, recurrent bias),
   * else it scales h before its product (tfjs's GRUCell, bias [3U]).
   */
  resetAfter?: boolean;
  /** Initial state [N, U] (zeros when absent). */
  h0?: tfjs.Tensor | null;
  /** [N, T]: 0 (or false) skips that step for that row, carrying h (tfjs's rnn()). */
  mask?: tfjs.Tensor | null;
}

/** Registers the GRU's two wasm kernels (idempotent per tf instance). */
function registerGruKernels(tf: Tf): void {
  registerNativeKernel(tf, { name: GRU_KERNEL, inputs: ['xw', 'u', 'h0'], optional: ['bh', 'mask'] }, ({ native, backend, inputs, attrs, at, output }) => {
    const { xw, u, h0, bh, mask } = inputs;
    const [n, steps, g3] = xw.shape as [number, number, number];
    const units = g3 / 3;
    const hseq = output([n, steps, units]);
    const gates = output([n, steps, g3]);
    const hprev = output([n, steps, units]);
    const aux = output([n, steps, units]);
    const hlast = output([n, units]);
    const a = attrs as { goBackwards: boolean; act: number; resetAfter: boolean };
    splitRows(native, 'rnn_gru_forward', [at(xw), at(u), at(bh), at(h0), at(mask), at(hseq), at(gates), at(hprev), at(aux), n, steps, units, a.goBackwards ? 1 : 0, a.act, a.resetAfter ? 1 : 0], n);
    // The last step's h (the layer's output without returnSequences), copied out here rather than by a Slice kernel.
    const from = backend.typedArrayFromHeap(hseq), to = backend.typedArrayFromHeap(hlast);
    for (let r = 0; r < n; r++) to.set(from.subarray((r * steps + steps - 1) * units, (r * steps + steps) * units), r * units);
    return [hseq, gates, hprev, aux, hlast];
  });
  registerNativeKernel(tf, { name: GRU_GRAD_KERNEL, inputs: ['dy', 'ut', 'gates', 'hprev', 'aux'], optional: ['mask'] }, ({ native, inputs, attrs, at, output }) => {
    const { dy, ut, gates, hprev, aux, mask } = inputs;
    const [n, steps, g3] = gates.shape as [number, number, number];
    const units = g3 / 3;
    const a = attrs as { goBackwards: boolean; act: number; resetAfter: boolean };
    const dxw = output([n, steps, g3]);
    const dhu = a.resetAfter ? output([n, steps, g3]) : null;
    const dh = output([n, units]);
    const seq = dy.shape.length === 3 ? 1 : 0;
    splitRows(native, 'rnn_gru_backward', [at(dy), seq, at(ut), at(gates), at(hprev), at(aux), at(mask), at(dxw), dhu ? at(dhu) : 0, at(dh), n, steps, units, a.goBackwards ? 1 : 0, a.act, a.resetAfter ? 1 : 0], n);
    return dhu ? [dxw, dhu, dh] : [dxw, dh];
  });
}

/** Whether this backend runs our fused GRU kernels (wasm with our module loaded and exporting them). */
export function gruFusedHere(tf: Tf): boolean {
  if (tf.getBackend() !== WASM || tf.getKernel(GRU_KERNEL, WASM) == null) return false;
  const native = nativeKernels(tf.backend());
  return native !== null && native.has('rnn_gru_forward');
}

/**
 * A GRU layer's output over x [N, T, F] with kernel [F, 3U], recurrentKernel [U, 3U] and bias ([3U], or
 * [2, 3U] with resetAfter; or null), gates z, r, h in Keras's order: [N, T, U] with returnSequences, else
 * [N, U]; differentiable with respect to x, the three weights and h0. Activation tanh; gates sigmoid or
 * hardSigmoid. As lstmSequence: one input GEMM for all steps, the recurrence and its gradient as one
 * kernel call each on wasm with our module (else tfjs ops per step), one GEMM (two without resetAfter) for dU.
 */
export function gruSequence(tf: Tf, x: tfjs.Tensor, kernel: tfjs.Tensor, recurrentKernel: tfjs.Tensor, bias: tfjs.Tensor | null, options: GruSequenceOptions = {}): tfjs.Tensor {
  if (x.rank !== 3) throw new Error(`gruSequence: x must be [batch, steps, features], got shape [${x.shape.join(', ')}]`);
  const [n, steps, features] = x.shape as [number, number, number];
  const g3 = kernel.shape[1]!;
  const units = g3 / 3;
  const resetAfter = options.resetAfter === true;
  if (kernel.rank !== 2 || kernel.shape[0] !== features || g3 % 3 !== 0) throw new Error(`gruSequence: kernel must be [${features}, 3·units], got [${kernel.shape.join(', ')}]`);
  if (recurrentKernel.rank !== 2 || recurrentKernel.shape[0] !== units || recurrentKernel.shape[1] !== g3) {
    throw new Error(`gruSequence: recurrentKernel must be [${units}, ${g3}], got [${recurrentKernel.shape.join(', ')}]`);
  }
  const biasShape = resetAfter ? [2, g3] : [g3];
  if (bias && (bias.rank !== biasShape.length || bias.shape.some((d, i) => d !== biasShape[i]))) throw new Error(`gruSequence: bias must be [${biasShape.join(', ')}], got [${bias.shape.join(', ')}]`);
  const mask0 = options.mask ?? null;
  if (mask0 && (mask0.rank !== 2 || mask0.shape[0] !== n || mask0.shape[1] !== steps)) {
    throw new Error(`gruSequence: mask must be [${n}, ${steps}], got [${mask0.shape.join(', ')}]`);
  }
  const goBackwards = options.goBackwards === true;
  const returnSequences = options.returnSequences === true;
  const act = options.recurrentActivation ?? 'sigmoid';
  if (!(act in ACT)) throw new Error(`gruSequence: recurrentActivation must be sigmoid or hardSigmoid, got '${String(act)}'`);
  const h0 = options.h0 ?? tf.zeros([n, units]);
  const mask = mask0 ? tf.cast(tf.cast(mask0, 'bool'), 'float32') : null;
  // The input bias, and with resetAfter b_hh's z and r parts (they add to the same sums); bh: b_hh's candidate part.
  let xb: tfjs.Tensor | null = null, bh: tfjs.Tensor | null = null;
  if (bias && resetAfter) {
    const keep = tf.tensor2d([new Array<number>(g3).fill(1), Array.from({ length: g3 }, (_, j) => (j < 2 * units ? 1 : 0))]);
    xb = tf.sum(tf.mul(bias, keep), 0);
    bh = tf.reshape(tf.slice(bias, [1, 2 * units], [1, units]), [units]);
  } else if (bias) xb = bias;
  let xw = tf.matMul(tf.reshape(x, [n * steps, features]), kernel);
  if (xb) xw = tf.add(xw, xb);
  xw = tf.reshape(xw, [n, steps, g3]);

  if (gruFusedHere(tf)) {
    const attrs = { goBackwards, act: ACT[act], resetAfter };
    const rows = n * steps;
    const op = tf.customGrad(((xwi: tfjs.Tensor, ui: tfjs.Tensor, bhi: tfjs.Tensor, hi: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
      const inputs: Record<string, tfjs.Tensor> = { xw: xwi, u: ui, h0: hi };
      if (bh) inputs.bh = bhi;
      if (mask) inputs.mask = mask;
      const [hseq, gates, hprev, aux, hlast] = tf.engine().runKernel(GRU_KERNEL, inputs as unknown as tfjs.NamedTensorMap, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
      save([ui, gates!, hprev!, aux!, ...(mask ? [mask] : [])]);
      return {
        value: returnSequences ? hseq! : hlast!,
        gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
          const [su, sg, sh, sa, sm] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor | undefined];
          const gradInputs: Record<string, tfjs.Tensor> = { dy, ut: tf.transpose(su), gates: sg, hprev: sh, aux: sa };
          if (sm) gradInputs.mask = sm;
          const outs = tf.engine().runKernel(GRU_GRAD_KERNEL, gradInputs as unknown as tfjs.NamedTensorMap, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
          const hp = tf.reshape(sh, [rows, units]);
          if (resetAfter) {
            const [dxw, dhu, dh0] = outs as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
            const d2 = tf.reshape(dhu, [rows, g3]);
            // dU = Σ h_{t−1}ᵀ·d(h·U): one GEMM; d bh = Σ of its candidate part.
            const dbh = bh ? tf.sum(tf.slice(d2, [0, 2 * units], [rows, units]), 0) : tf.zerosLike(bhi);
            return [dxw, tf.matMul(hp, d2, true, false), dbh, dh0];
          }
          const [dxw, dh0] = outs as [tfjs.Tensor, tfjs.Tensor];
          const d2 = tf.reshape(dxw, [rows, g3]);
          // dU_zr = Σ h_{t−1}ᵀ·dz~_zr, dU_h = Σ (r ⊙ h_{t−1})ᵀ·dn~.
          const duzr = tf.matMul(hp, tf.slice(d2, [0, 0], [rows, 2 * units]), true, false);
          const duh = tf.matMul(tf.reshape(sa, [rows, units]), tf.slice(d2, [0, 2 * units], [rows, units]), true, false);
          return [dxw, tf.concat([duzr, duh], 1), tf.zerosLike(bhi), dh0];
        },
      };
    }) as unknown as Parameters<Tf['customGrad']>[0]);
    return (op as unknown as (a: tfjs.Tensor, b: tfjs.Tensor, c: tfjs.Tensor, d: tfjs.Tensor) => tfjs.Tensor)(xw, recurrentKernel, bh ?? tf.zeros([units]), h0);
  }

  // The same recurrence as tfjs ops (any backend).
  const gate = gateOps(tf, act);
  const stepOf = (t: number) => tf.reshape(tf.slice(xw, [0, t, 0], [n, 1, g3]), [n, g3]);
  const maskOf = (t: number) => tf.slice(mask!, [0, t], [n, 1]);
  const uzr = resetAfter ? null : tf.slice(recurrentKernel, [0, 0], [units, 2 * units]);
  const uh = resetAfter ? null : tf.slice(recurrentKernel, [0, 2 * units], [units, units]);
  let h = h0;
  const outputs: tfjs.Tensor[] = [];
  for (let s = 0; s < steps; s++) {
    const t = goBackwards ? steps - 1 - s : s;
    const [xz, xr, xh] = tf.split(stepOf(t), 3, 1) as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
    let z: tfjs.Tensor, cand: tfjs.Tensor;
    if (resetAfter) {
      const [hz, hr, hh] = tf.split(tf.matMul(h, recurrentKernel), 3, 1) as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
      z = gate(tf.add(xz, hz));
      const r = gate(tf.add(xr, hr));
      cand = tf.tanh(tf.add(xh, tf.mul(r, bh ? tf.add(hh, bh) : hh)));
    } else {
      const [hz, hr] = tf.split(tf.matMul(h, uzr!), 2, 1) as [tfjs.Tensor, tfjs.Tensor];
      z = gate(tf.add(xz, hz));
      const r = gate(tf.add(xr, hr));
      cand = tf.tanh(tf.add(xh, tf.matMul(tf.mul(r, h), uh!)));
    }
    let h1 = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), cand));
    if (mask) {
      const m = maskOf(t);
      h1 = tf.add(tf.mul(h1, m), tf.mul(h, tf.sub(1, m)));
    }
    h = h1;
    if (returnSequences) outputs.push(h);
  }
  return returnSequences ? tf.stack(outputs, 1) : h;
}
