import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../../../../shared/layers';

type Tensor = tfjs.Tensor;
type Kwargs = Record<string, unknown>;
type Shape = (number | null)[];
type Serializable = Parameters<Tf['serialization']['registerClass']>[0];
export type Conv1DArgs = Parameters<Tf['layers']['conv1d']>[0];

/** The fields of tfjs's Conv1D that the causal path reads or switches. */
interface TfjsConv1D {
  padding: string;
  kernelSize: number[];
  dilationRate: number | number[];
}

/**
 * tfjs's Conv1D with Keras's padding 'causal' (tfjs accepts the name but throws when run): the sequence is
 * padded with (kernelSize − 1) · dilationRate zero steps at its start, then convolved 'valid', so step t
 * sees only steps ≤ t (WaveNet, TCNs). Registered in place of tfjs's Conv1D under the same class name and
 * config; every other padding runs tfjs's own code unchanged. Its output length is ceil(T / strides).
 */
export function defineConv1dClass(tf: Tf): new (args: Conv1DArgs) => tfjs.layers.Layer {
  const TfjsConv1D = (tf.layers.conv1d({ filters: 1, kernelSize: 1 }) as object).constructor as new (args: Conv1DArgs) => tfjs.layers.Layer;

  class Conv1D extends TfjsConv1D {
    static className = 'Conv1D';

    private get conv(): TfjsConv1D {
      return this as unknown as TfjsConv1D;
    }

    /** Runs tfjs's own code with padding read as `as` (the causal computation is a padded 'valid' one, its length 'same''s). */
    private as<T>(padding: string, f: () => T): T {
      const c = this.conv;
      c.padding = padding;
      try {
        return f();
      } finally {
        c.padding = 'causal';
      }
    }

    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
      if (this.conv.padding !== 'causal') return super.call(inputs, kwargs);
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const d = this.conv.dilationRate;
      const left = (this.conv.kernelSize[0]! - 1) * (Array.isArray(d) ? d[0]! : d);
      return tf.tidy(() => {
        const padded = left > 0 ? tf.pad(x, [[0, 0], [left, 0], [0, 0]]) : x;
        return this.as('valid', () => super.call(padded, kwargs));
      });
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
      if (this.conv.padding !== 'causal') return super.computeOutputShape(inputShape);
      return this.as('same', () => super.computeOutputShape(inputShape));
    }
  }

  tf.serialization.registerClass(Conv1D as unknown as Serializable);
  return Conv1D;
}
