import { defineLayer, ShapeError, type Shape } from './define';
import { bool, int } from './params';
import { formatShape, product } from './shapeUtils';
import { sampleAxis } from './activationLayers';

/** The sample axis Dot contracts in each input (Keras counts the batch as axis 0; -1 is the last). */
function dotAxis(inputs: readonly Shape[], axes: number): number {
  const [a, b] = inputs as [Shape, Shape];
  inputs.forEach((s, port) => {
    if (s.length < 1 || s.length > 2) throw new ShapeError(`expects vectors (F) or sequences (T×F), got ${formatShape(s)} on input ${port + 1}`, undefined, port);
  });
  if (a.length !== b.length) throw new ShapeError(`Dot needs inputs of the same rank, but input 1 is ${formatShape(a)} and input 2 is ${formatShape(b)}`, undefined, 1);
  const ax = sampleAxis(axes, a, 'axes');
  if (a[ax] !== b[ax]) {
    throw new ShapeError(`axes ${axes} contracts ${a[ax]} values of input 1 (${formatShape(a)}) with ${b[ax]} of input 2 (${formatShape(b)}); they must be equal`, 'axes');
  }
  return ax;
}

export const dot = defineLayer({
  type: 'Dot',
  category: 'Merge',
  label: 'Dot',
  description: 'Dot products of two inputs along one axis (cosine similarity with normalize): [F]·[F] → [1], [T×F]·[T′×F] → [T×T′].',
  namePrefix: 'dot',
  params: {
    axes: int(-1, { min: -2, max: 2, description: 'Axis summed over in both inputs: -1 = last, 1 = first axis of a sample (0, the batch, is not allowed).' }),
    normalize: bool(false, { description: 'L2-normalise both inputs along that axis first (the result is then a cosine similarity).' }),
  },
  inputs: { min: 2, max: 2, names: ['a', 'b'] },
  checkParams: (p) => (p.axes === 0 ? [['axes', 'axes 0 is the batch axis; use -1 (last) or 1…rank']] : []),
  outputShape: (inputs, p) => {
    const ax = dotAxis(inputs, p.axes);
    const [a, b] = inputs as [Shape, Shape];
    if (a.length === 1) return [1];
    return [...a.filter((_, i) => i !== ax), ...b.filter((_, i) => i !== ax)];
  },
  paramCount: () => 0,
  flops: (inputs, p, out) => 2 * product(out) * inputs[0]![dotAxis(inputs, p.axes)]! + (p.normalize ? 3 * (product(inputs[0]!) + product(inputs[1]!)) : 0),
  build: ({ tf }, p, name) => tf.layers.dot({ name, axes: p.axes, normalize: p.normalize }),
  summary: (p) => `axes ${p.axes}${p.normalize ? ' · cosine' : ''}`,
});
