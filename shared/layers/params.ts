/**
 * Parameter specifications for layer types. A layer file declares its params with these helpers; the
 * inspector renders them as a form, validation checks values against them, and the project schema
 * uses them to reject malformed files.
 */

export type ParamValue = number | boolean | string | number[];

interface ParamBase<T extends ParamValue> {
  readonly default: T;
  /** Short label for the inspector; defaults to the param key. */
  readonly label?: string;
  /** One line of help shown on hover. */
  readonly description?: string;
  /** Only shown / validated when this returns true for the node's current params. */
  readonly when?: (params: Readonly<Record<string, ParamValue>>) => boolean;
}

export interface IntParam extends ParamBase<number> {
  readonly kind: 'int';
  readonly min?: number;
  readonly max?: number;
}
export interface FloatParam extends ParamBase<number> {
  readonly kind: 'float';
  readonly min?: number;
  readonly max?: number;
  /** True when min itself is excluded (e.g. rate > 0). */
  readonly exclusiveMin?: boolean;
}
export interface BoolParam extends ParamBase<boolean> {
  readonly kind: 'bool';
}
export interface ChoiceParam<O extends string = string> extends ParamBase<O> {
  readonly kind: 'choice';
  readonly options: readonly O[];
}
export interface IntListParam extends ParamBase<number[]> {
  readonly kind: 'intList';
  readonly min?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
}

export type ParamSpec = IntParam | FloatParam | BoolParam | ChoiceParam | IntListParam;
export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

/** The value type a spec stands for. */
export type ValueOf<S> = S extends ChoiceParam<infer O>
  ? O
  : S extends IntListParam
    ? number[]
    : S extends BoolParam
      ? boolean
      : number;

export type ParamValues<P extends ParamSpecs> = { [K in keyof P]: ValueOf<P[K]> };

type Opts<S> = Omit<S, 'kind' | 'default'>;

export const int = (def: number, opts: Opts<IntParam> = {}): IntParam => ({ kind: 'int', default: def, ...opts });
export const float = (def: number, opts: Opts<FloatParam> = {}): FloatParam => ({
  kind: 'float',
  default: def,
  ...opts,
});
export const bool = (def: boolean, opts: Opts<BoolParam> = {}): BoolParam => ({ kind: 'bool', default: def, ...opts });
export const choice = <const O extends string>(
  options: readonly O[],
  def: NoInfer<O>,
  opts: Omit<Opts<ChoiceParam<O>>, 'options'> = {},
): ChoiceParam<O> => ({ kind: 'choice', options, default: def, ...opts });
export const intList = (def: number[], opts: Opts<IntListParam> = {}): IntListParam => ({
  kind: 'intList',
  default: def,
  ...opts,
});

/**
 * The activation functions a layer can apply, by their TensorFlow.js names (the exporters key their tables
 * on this list, so adding one fails to compile until every format says how to write it):
 * - swish is x · sigmoid(x), which PyTorch and Keras 3 also call silu (an imported 'silu' becomes 'swish');
 * - hardSigmoid is tfjs's and Keras 2's clip(0.2x + 0.5, 0, 1) (Keras 3's hard_sigmoid is relu6(x + 3) / 6);
 * - hardSwish is x · relu6(x + 3) / 6 (Keras 3 hard_silu / hard_swish, PyTorch hardswish): not in tfjs,
 *   the engine registers it (main/engine/compile/custom);
 * - relu6 is min(max(x, 0), 6), mish x · tanh(softplus(x)), softsign x / (1 + |x|).
 */
export const ACTIVATIONS = [
  'linear',
  'relu',
  'sigmoid',
  'tanh',
  'softmax',
  'elu',
  'selu',
  'softplus',
  'swish',
  'gelu',
  'relu6',
  'hardSigmoid',
  'hardSwish',
  'mish',
  'softsign',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];
export const activation = (def: ActivationName, opts: Omit<Opts<ChoiceParam<ActivationName>>, 'options'> = {}) =>
  choice(ACTIVATIONS, def, {
    label: 'activation',
    description: 'Applied to every output value. swish = silu; hardSwish = x·relu6(x+3)/6; hardSigmoid = clip(0.2x+0.5, 0, 1).',
    ...opts,
  });

/**
 * Checks one value against its spec. Returns a message without the node or field name
 * (e.g. "must be an integer >= 1, got 0"), or null when the value is valid.
 */
export function checkParam(spec: ParamSpec, value: unknown): string | null {
  const range = (min?: number, max?: number, exclusiveMin?: boolean): string =>
    [min !== undefined ? `${exclusiveMin ? '>' : '>='} ${min}` : '', max !== undefined ? `<= ${max}` : '']
      .filter(Boolean)
      .join(' and ');
  switch (spec.kind) {
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        return `must be an integer${spec.min !== undefined || spec.max !== undefined ? ` ${range(spec.min, spec.max)}` : ''}, got ${show(value)}`;
      }
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        return `must be ${range(spec.min, spec.max)}, got ${value}`;
      }
      return null;
    }
    case 'float': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a finite number, got ${show(value)}`;
      const belowMin = spec.min !== undefined && (spec.exclusiveMin ? value <= spec.min : value < spec.min);
      if (belowMin || (spec.max !== undefined && value > spec.max)) {
        return `must be ${range(spec.min, spec.max, spec.exclusiveMin)}, got ${value}`;
      }
      return null;
    }
    case 'bool':
      return typeof value === 'boolean' ? null : `must be true or false, got ${show(value)}`;
    case 'choice':
      return typeof value === 'string' && (spec.options as readonly string[]).includes(value)
        ? null
        : `must be one of ${spec.options.map((o) => `'${o}'`).join(', ')}, got ${show(value)}`;
    case 'intList': {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isInteger(v))) {
        return `must be a list of integers, got ${show(value)}`;
      }
      if (spec.minLength !== undefined && value.length < spec.minLength) {
        return `must have at least ${spec.minLength} entries, got ${value.length}`;
      }
      if (spec.maxLength !== undefined && value.length > spec.maxLength) {
        return `must have at most ${spec.maxLength} entries, got ${value.length}`;
      }
      if (spec.min !== undefined && value.some((v: number) => v < spec.min!)) {
        return `entries must be >= ${spec.min}, got [${value.join(', ')}]`;
      }
      return null;
    }
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
