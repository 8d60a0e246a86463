import type * as tfjs from '@tensorflow/tfjs';
import type { TrainingSettings } from '../../../shared/project';
import { createFusedAdam, fusedAdamAvailable } from '../backends/fusedAdam';

type Tf = typeof tfjs;

/**
 * The optimizer for a run. AdamW is Adam plus decoupled weight decay (Loshchilov & Hutter), which
 * tfjs lacks: after each Adam step every weight of rank >= 2 (kernels, embeddings; not biases or
 * normalisation scales) is multiplied by (1 - learningRate × weightDecay), as torch.optim.AdamW does.
 */
export interface RunOptimizer {
  readonly optimizer: tfjs.Optimizer;
  setLearningRate(lr: number): void;
  /** Called after each optimizer step (AdamW's decay). */
  afterStep(vars: readonly tfjs.Variable[]): void;
  dispose(): void;
}

export function createOptimizer(tf: Tf, settings: TrainingSettings): RunOptimizer {
  const lr = settings.learningRate;
  let current = lr;
  let optimizer: tfjs.Optimizer;
  switch (settings.optimizer) {
    case 'sgd':
      optimizer = tf.train.sgd(lr);
      break;
    case 'momentum':
      optimizer = tf.train.momentum(lr, settings.momentum);
      break;
    case 'rmsprop':
      optimizer = tf.train.rmsprop(lr, 0.9, 0, 1e-7);
      break;
    case 'adam':
    case 'adamw':
      // On wasm, the same Adam with one fused kernel per variable (backends/fusedAdam.ts).
      optimizer = fusedAdamAvailable(tf) ? createFusedAdam(tf, lr, 0.9, 0.999, 1e-7) : tf.train.adam(lr, 0.9, 0.999, 1e-7);
      break;
  }
  const decay = settings.optimizer === 'adamw' ? settings.weightDecay : 0;
  return {
    optimizer,
    setLearningRate(next) {
      if (next === current) return;
      current = next;
      const o = optimizer as unknown as { setLearningRate?: (v: number) => void; learningRate: number };
      // SGD/momentum keep a cached scalar and expose setLearningRate; Adam and RMSprop read the field each step.
      if (typeof o.setLearningRate === 'function') o.setLearningRate(next);
      else o.learningRate = next;
    },
    afterStep(vars) {
      if (decay <= 0) return;
      const factor = 1 - current * decay;
      tf.tidy(() => {
        for (const v of vars) if (v.rank >= 2) v.assign(tf.mul(v, factor));
      });
    },
    dispose() {
      optimizer.dispose();
    },
  };
}

/**
 * The learning rate for a step. `epoch` is 0-based; `progress` is the fraction of the whole run done
 * (0 at the first batch). constant: the base rate; step: × stepGamma every stepEpochs epochs;
 * cosine: from the base rate down to 0 over the run, per batch.
 */
export function learningRateAt(settings: TrainingSettings, epoch: number, progress: number): number {
  const lr = settings.learningRate;
  switch (settings.schedule) {
    case 'constant':
      return lr;
    case 'step':
      return lr * settings.stepGamma ** Math.floor(epoch / settings.stepEpochs);
    case 'cosine':
      return lr * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, progress))));
  }
}
