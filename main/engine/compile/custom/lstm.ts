import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../../../../shared/layers';
import { lstmFusedHere, lstmSequence, type LstmGateActivation } from '../../backends/recurrent';

type Tensor = tfjs.Tensor;
type Kwargs = Record<string, unknown>;
type Serializable = Parameters<Tf['serialization']['registerClass']>[0];
type TfLstmArgs = Parameters<Tf['layers']['lstm']>[0];

/** The fields of tfjs's LSTM / LSTMCell that our subclass reads (set by tfjs's constructors and build). */
interface TfjsLstm {
  cell: {
    units: number;
    activation: { getClassName(): string };
    recurrentActivation: { getClassName(): string };
    useBias: boolean;
    dropout: number;
    recurrentDropout: number;
    kernel: tfjs.LayerVariable;
    recurrentKernel: tfjs.LayerVariable;
    bias: tfjs.LayerVariable | null;
  };
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  stateful: boolean;
}

let fusedOn = process.env.LAYERFORGE_FUSED_RNN !== '0';
/** For benchmarks and tests: run LSTM and GRU layers through tfjs's own step loop (off) or the fused ops (on, the default; LAYERFORGE_FUSED_RNN=0 starts off). */
export function setFusedRecurrentEnabled(on: boolean): void {
  fusedOn = on;
}
/** Whether LSTM and GRU layers may run the fused ops (see setFusedRecurrentEnabled). */
export function fusedRecurrentEnabled(): boolean {
  return fusedOn;
}

/** The fields of a tfjs recurrent layer (LSTM, GRU) that decide whether a call can run fused. */
interface FusableRecurrent {
  cell?: {
    activation: { getClassName(): string };
    recurrentActivation: { getClassName(): string };
    dropout: number;
    recurrentDropout: number;
    kernel: tfjs.LayerVariable | null;
    recurrentKernel: tfjs.LayerVariable | null;
  };
  returnState: boolean;
  stateful: boolean;
}

/**
 * The fused op's settings for a call of an LSTM (stateCount 2: h and c) or GRU (1: h), or null when the call
 * takes tfjs's path: stateful, returnState, dropout while training, an activation other than tanh, gates other
 * than sigmoid / hardSigmoid, an input that is not one float32 [N, T, F], a mask that is not [N, T], or an
 * initial state that is not stateCount float32 [N, U] tensors. The caller checks the switch and the backend.
 */
export function fusedRecurrentPlan(layer: FusableRecurrent, inputs: tfjs.Tensor | tfjs.Tensor[], kwargs: Kwargs, stateCount: number): { x: tfjs.Tensor; act: LstmGateActivation; mask: tfjs.Tensor | null; state: tfjs.Tensor[] | null } | null {
  const c = layer.cell;
  if (layer.stateful || layer.returnState || !c?.kernel || !c.recurrentKernel) return null;
  const training = kwargs.training === true;
  if (training && ((c.dropout > 0 && c.dropout < 1) || (c.recurrentDropout > 0 && c.recurrentDropout < 1))) return null;
  if (c.activation.getClassName() !== 'tanh') return null;
  const act = c.recurrentActivation.getClassName();
  if (act !== 'sigmoid' && act !== 'hardSigmoid') return null;
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const x = list[0];
  if (list.length !== 1 || !x || x.rank !== 3 || x.dtype !== 'float32') return null;
  const mask = (kwargs.mask ?? null) as tfjs.Tensor | tfjs.Tensor[] | null;
  if (Array.isArray(mask) || (mask && (mask.rank !== 2 || mask.shape[0] !== x.shape[0] || mask.shape[1] !== x.shape[1]))) return null;
  const initial = (kwargs.initialState ?? null) as tfjs.Tensor | tfjs.Tensor[] | null;
  const state = initial == null ? null : Array.isArray(initial) ? initial : [initial];
  if (state && (state.length !== stateCount || state.some((s) => s.rank !== 2 || s.dtype !== 'float32'))) return null;
  return { x, act, mask, state };
}

/**
 * tfjs's LSTM with the same class name, config and weights (saved models, the Keras / ONNX / PyTorch
 * exports and the imports are unchanged), registered in tfjs's place on this tf instance, so that
 * Bidirectional (which makes its forward and backward copies from the class registry) and loaded
 * models use it too. Its call() runs backends/recurrent.ts's lstmSequence (one input GEMM, the
 * recurrence and its gradient as single kernels) where that op runs our wasm kernels, and tfjs's own
 * path otherwise: another backend or our module off, dropout or recurrent dropout while training,
 * stateful, returnState, an activation other than tanh, gates other than sigmoid / hardSigmoid, a
 * symbolic initial state, or a mask that is not [batch, steps].
 */
export function defineLstmClass(tf: Tf): new (args: TfLstmArgs) => tfjs.layers.Layer {
  const TfjsLSTM = (tf.layers.lstm({ units: 1 }) as object).constructor as new (args: TfLstmArgs) => tfjs.layers.Layer;

  class LSTM extends TfjsLSTM {
    static className = 'LSTM';

    /** The op's settings when this call can run fused, else null (tfjs's path). */
    private fusedPlan(inputs: Tensor | Tensor[], kwargs: Kwargs): { x: Tensor; act: LstmGateActivation; mask: Tensor | null; state: Tensor[] | null } | null {
      if (!fusedOn || !lstmFusedHere(tf)) return null;
      return fusedRecurrentPlan(this as unknown as TfjsLstm, inputs, kwargs, 2);
    }

    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
      const plan = this.fusedPlan(inputs, kwargs ?? {});
      if (!plan) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const self = this as unknown as TfjsLstm;
        const c = self.cell;
        return lstmSequence(tf, plan.x, c.kernel.read(), c.recurrentKernel.read(), c.useBias && c.bias ? c.bias.read() : null, {
          goBackwards: self.goBackwards,
          returnSequences: self.returnSequences,
          recurrentActivation: plan.act,
          mask: plan.mask,
          h0: plan.state?.[0] ?? null,
          c0: plan.state?.[1] ?? null,
        });
      });
    }
  }

  tf.serialization.registerClass(LSTM as unknown as Serializable);
  return LSTM;
}
