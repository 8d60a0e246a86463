import { s, type Infer } from '../schema';
import { LOSSES } from '../tasks/define';

export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'] as const;
export const SCHEDULES = ['constant', 'step', 'cosine'] as const;
/** 'pytorch' trains as a process (the PyTorch export under torchrun), the others in the tfjs worker. */
export const BACKENDS = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu', 'pytorch'] as const;

/** Training settings stored in a project and sent with a training request. */
export const trainingSettingsSchema = s.object({
  epochs: s.optional(s.number({ int: true, min: 1, max: 10_000 }), 10),
  batchSize: s.optional(s.number({ int: true, min: 1, max: 65_536 }), 64),
  optimizer: s.optional(s.enum(OPTIMIZERS), 'adam'),
  learningRate: s.optional(s.refine(s.number({ min: 0, max: 10 }), (v) => (v > 0 ? null : 'must be > 0')), 0.001),
  weightDecay: s.optional(s.number({ min: 0, max: 1 }), 0.01),
  momentum: s.optional(s.number({ min: 0, max: 0.9999 }), 0.9),
  schedule: s.optional(s.enum(SCHEDULES), 'constant'),
  /** For 'step': multiply the rate by stepGamma every stepEpochs epochs. */
  stepEpochs: s.optional(s.number({ int: true, min: 1, max: 10_000 }), 10),
  stepGamma: s.optional(s.number({ min: 0, max: 1 }), 0.1),
  /** Fraction of the training data held out for validation; 0 = validate on the test split. */
  validationSplit: s.optional(s.number({ min: 0, max: 0.9 }), 0),
  /** Stop when validation loss has not improved for this many epochs; 0 = off. */
  earlyStoppingPatience: s.optional(s.number({ int: true, min: 0, max: 10_000 }), 0),
  augmentFlip: s.optional(s.boolean(), false),
  augmentCrop: s.optional(s.boolean(), false),
  seed: s.optional(s.number({ int: true, min: 0, max: 2 ** 31 - 1 }), 42),
  backend: s.optional(s.enum(BACKENDS), 'auto'),
  /** The pytorch backend: processes on this machine (torchrun --nproc_per_node); the tfjs backends ignore it. */
  procs: s.optional(s.number({ int: true, min: 1, max: 1024 }), 1),
  /** The loss; 'auto' lets the dataset's task choose (cross-entropy for classes, mean squared error for regression). */
  loss: s.optional(s.enum(LOSSES), 'auto'),
  /**
   * Fine-tuning: a trained-model folder on the engine's machine (an imported model with weights, or a
   * run's model) whose weights start this training. Layers are matched by node name; a layer whose weights
   * do not fit (a replaced head) keeps its fresh initialisation. Null: train from scratch.
   */
  initialWeights: s.optional(s.nullable(s.string({ min: 1, max: 4096 })), null),
});

export type TrainingSettings = Required<Infer<typeof trainingSettingsSchema>>;

export function defaultTrainingSettings(): TrainingSettings {
  return trainingSettingsSchema.check({}, '', []) as TrainingSettings;
}
