import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../../../../shared/layers';
import { gruFusedHere, gruSequence, type LstmGateActivation } from '../../backends/recurrent';
import { fusedRecurrentEnabled, fusedRecurrentPlan } from './lstm';

type Tensor = tfjs.Tensor;
type Kwargs = Record<string, unknown>;
type Shape = (number | null)[];
type Serializable = Parameters<Tf['serialization']['registerClass']>[0];
type TfGruArgs = Parameters<Tf['layers']['gru']>[0];
type Initializer = ReturnType<Tf['initializers']['zeros']>;

export interface GRUArgs extends TfGruArgs {
  /**
   * Keras's reset_after (its default since Keras 2.x, cuDNN's and PyTorch's GRU): the reset gate applies
   * to the recurrent product (h·Uh + b_hh) rather than to h before it, with a second bias. Weights
   * kernel [F, 3u], recurrent_kernel [u, 3u], bias [2, 3u] (row 0 the input bias, row 1 the recurrent one).
   */
  resetAfter?: boolean;
}

/** The fields of tfjs's GRUCell that our reset-after cell reads (set by tfjs's constructor). */
interface TfjsGruCell {
  units: number;
  activation: { apply(x: Tensor): Tensor };
  recurrentActivation: { apply(x: Tensor): Tensor };
  useBias: boolean;
  kernelInitializer: Initializer;
  recurrentInitializer: Initializer;
  biasInitializer: Initializer;
  dropout: number;
  recurrentDropout: number;
  dropoutMask: Tensor[] | null;
  recurrentDropoutMask: Tensor[] | null;
}

/** The fields of tfjs's GRU (and of its cell, ours or tfjs's) that the fused path reads. */
interface TfjsGru {
  cell: {
    activation: { getClassName(): string };
    recurrentActivation: { getClassName(): string };
    useBias: boolean;
    dropout: number;
    recurrentDropout: number;
    kernel: tfjs.LayerVariable | null;
    recurrentKernel: tfjs.LayerVariable | null;
    bias: tfjs.LayerVariable | null;
  };
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  stateful: boolean;
}

/**
 * Keras's GRU with reset_after, which TensorFlow.js lacks (its GRUCell refuses resetAfter: true), registered
 * in place of tfjs's GRU under the same class name. With resetAfter false (the default) it is tfjs's GRU
 * unchanged; with resetAfter true its cell computes, with gates z, r, h in Keras's order:
 *   x_z, x_r, x_h = x·W + b_ih        (W = kernel [F, 3u], b_ih = bias[0])
 *   h_z, h_r, h_h = h·U + b_hh        (U = recurrent_kernel [u, 3u], b_hh = bias[1])
 *   z = σ(x_z + h_z), r = σ(x_r + h_r), h̃ = tanh(x_h + r ⊙ h_h), h' = z ⊙ h + (1 − z) ⊙ h̃
 * It is a tfjs RNN, so Bidirectional wraps it (its backward copy is made from the class registry),
 * gradients flow through tfjs's own ops, and a model.json of Keras's (reset_after: true) loads with it.
 */
export function defineGruClass(tf: Tf): new (args: GRUArgs) => tfjs.layers.Layer {
  const TfjsGRUCell = (tf.layers.gruCell({ units: 1 }) as object).constructor as new (args: TfGruArgs) => tfjs.layers.Layer;
  const TfjsGRU = (tf.layers.gru({ units: 1 }) as object).constructor as new (args: TfGruArgs) => tfjs.layers.Layer;

  class ResetAfterGRUCell extends TfjsGRUCell {
    static className = 'GRUCell';
    private kernel: tfjs.LayerVariable | null = null;
    private recurrentKernel: tfjs.LayerVariable | null = null;
    private bias: tfjs.LayerVariable | null = null;

    constructor(args: TfGruArgs) {
      super({ ...args, resetAfter: false } as TfGruArgs);
    }

    private get cell(): TfjsGruCell {
      return this as unknown as TfjsGruCell;
    }

    override build(inputShape: Shape | Shape[]): void {
      const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
      const inputDim = s[s.length - 1];
      if (inputDim == null) throw new Error(`GRU '${this.name}' needs a known feature size, got ${JSON.stringify(s)}`);
      const c = this.cell;
      const u = c.units;
      // Keras's order: kernel, recurrent_kernel, bias (what a Keras weights file lists and assignKerasWeights writes)
      this.kernel = this.addWeight('kernel', [inputDim, 3 * u], undefined, c.kernelInitializer, undefined, true);
      this.recurrentKernel = this.addWeight('recurrent_kernel', [u, 3 * u], undefined, c.recurrentInitializer, undefined, true);
      this.bias = c.useBias ? this.addWeight('bias', [2, 3 * u], undefined, c.biasInitializer, undefined, true) : null;
      this.built = true;
    }

    /** Three dropout masks (one per gate), made once per sequence as Keras does; null when not dropping. */
    private masks(like: Tensor, rate: number, training: boolean): Tensor[] | null {
      if (!(rate > 0 && rate < 1) || !training) return null;
      return [0, 1, 2].map(() => tf.keep(tf.dropout(tf.onesLike(like), rate)));
    }

    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor[] {
      return tf.tidy(() => {
        const list = inputs as Tensor[];
        if (!Array.isArray(list) || list.length !== 2) throw new Error(`GRU '${this.name}' cell expects [inputs, state], got ${Array.isArray(list) ? list.length : 1} tensors`);
        const c = this.cell;
        const u = c.units;
        const training = kwargs.training === true;
        const [x0, h] = list as [Tensor, Tensor];
        if (c.dropoutMask == null) c.dropoutMask = this.masks(x0, c.dropout, training);
        if (c.recurrentDropoutMask == null) c.recurrentDropoutMask = this.masks(h, c.recurrentDropout, training);
        // Keras applies one mask per gate to the input (and the state): the three products differ
        const W = this.kernel!.read();
        const U = this.recurrentKernel!.read();
        const [bIh, bHh] = this.bias ? tf.unstack(this.bias.read(), 0) : [null, null];
        let xs: Tensor;
        if (c.dropoutMask) {
          const Ws = tf.split(W, 3, 1);
          xs = tf.concat(Ws.map((w, i) => tf.matMul(tf.mul(x0, c.dropoutMask![i]!), w)), 1);
        } else xs = tf.matMul(x0, W);
        let hs: Tensor;
        if (c.recurrentDropoutMask) {
          const Us = tf.split(U, 3, 1);
          hs = tf.concat(Us.map((w, i) => tf.matMul(tf.mul(h, c.recurrentDropoutMask![i]!), w)), 1);
        } else hs = tf.matMul(h, U);
        if (bIh) xs = tf.add(xs, bIh);
        if (bHh) hs = tf.add(hs, bHh);
        const [xz, xr, xh] = tf.split(xs, [u, u, u], 1) as [Tensor, Tensor, Tensor];
        const [hz, hr, hh] = tf.split(hs, [u, u, u], 1) as [Tensor, Tensor, Tensor];
        const z = c.recurrentActivation.apply(tf.add(xz, hz));
        const r = c.recurrentActivation.apply(tf.add(xr, hr));
        const candidate = c.activation.apply(tf.add(xh, tf.mul(r, hh)));
        const next = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), candidate));
        return [next, next];
      });
    }

    override getConfig() {
      return { ...super.getConfig(), resetAfter: true };
    }
  }

  class GRU extends TfjsGRU {
    static className = 'GRU';
    readonly resetAfter: boolean;
    constructor(args: GRUArgs) {
      super({ ...args, resetAfter: false } as TfGruArgs);
      this.resetAfter = args.resetAfter === true;
      if (this.resetAfter) (this as unknown as { cell: tfjs.layers.Layer }).cell = new ResetAfterGRUCell(args);
    }

    /** The op's settings when this call can run fused, else null (tfjs's path). */
    private fusedPlan(inputs: Tensor | Tensor[], kwargs: Kwargs): { x: Tensor; act: LstmGateActivation; mask: Tensor | null; h0: Tensor | null } | null {
      if (!fusedRecurrentEnabled() || !gruFusedHere(tf)) return null;
      const plan = fusedRecurrentPlan(this as unknown as TfjsGru, inputs, kwargs, 1);
      return plan && { x: plan.x, act: plan.act, mask: plan.mask, h0: plan.state?.[0] ?? null };
    }

    /**
     * backends/recurrent.ts's gruSequence (one input GEMM, the recurrence and its gradient as single
     * kernels) where it runs our wasm kernels, else tfjs's path: another backend or our module off,
     * LAYERFORGE_FUSED_RNN=0, dropout or recurrent dropout while training, stateful, returnState, an
     * activation other than tanh, gates other than sigmoid / hardSigmoid, or an unusual mask or state.
     */
    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
      const plan = this.fusedPlan(inputs, kwargs ?? {});
      if (!plan) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const self = this as unknown as TfjsGru;
        const c = self.cell;
        return gruSequence(tf, plan.x, c.kernel!.read(), c.recurrentKernel!.read(), c.useBias && c.bias ? c.bias.read() : null, {
          goBackwards: self.goBackwards,
          returnSequences: self.returnSequences,
          recurrentActivation: plan.act,
          resetAfter: this.resetAfter,
          mask: plan.mask,
          h0: plan.h0,
        });
      });
    }
  }

  tf.serialization.registerClass(GRU as unknown as Serializable);
  return GRU;
}
