import { defineLayer, ShapeError, type Shape } from './define';
import { intList } from './params';
import { formatList, formatShape, product } from './shapeUtils';

export const reshape = defineLayer({
  type: 'Reshape',
  category: 'Reshaping',
  label: 'Reshape',
  description: 'Rearranges the values of a sample into a new shape with the same number of values.',
  namePrefix: 'reshape',
  params: {
    targetShape: intList([-1], {
      min: -1,
      minLength: 1,
      maxLength: 8,
      description: 'New per-sample shape; one entry may be -1 ("whatever is left").',
    }),
  },
  inputs: { min: 1, max: 1 },
  checkParams: (p) => {
    const problems: Array<[string, string]> = [];
    if (p.targetShape.includes(0)) problems.push(['targetShape', `targetShape ${formatList(p.targetShape)} has a 0 entry; sizes must be >= 1 (or -1)`]);
    if (p.targetShape.filter((d) => d === -1).length > 1) {
      problems.push(['targetShape', `targetShape ${formatList(p.targetShape)} has more than one -1; at most one size can be inferred`]);
    }
    return problems;
  },
  outputShape: ([inp], p) => resolveTargetShape(inp!, p.targetShape),
  paramCount: () => 0,
  flops: () => 0,
  // tfjs leaves a -1 unknown (null) in the symbolic shape, which breaks a Dense after it: pass the resolved shape.
  build: ({ tf, inputShapes }, p, name) => tf.layers.reshape({ name, targetShape: resolveTargetShape(inputShapes[0]!, p.targetShape) }),
  summary: (p) => formatShape(p.targetShape),
});

/** The target shape with its -1 (if any) resolved against the input's size; ShapeError when it cannot fit. */
export function resolveTargetShape(inp: Shape, t: readonly number[]): number[] {
  const total = product(inp);
  const known = product(t.filter((d) => d !== -1));
  if (t.includes(-1)) {
    if (total % known !== 0) {
      throw new ShapeError(
        `targetShape ${formatList(t)} cannot hold the input's ${total} values (${formatShape(inp)}): ${total} is not divisible by ${known}`,
        'targetShape',
      );
    }
    return t.map((d) => (d === -1 ? total / known : d));
  }
  if (known !== total) {
    throw new ShapeError(`targetShape ${formatList(t)} has ${known} values but the input has ${total} (${formatShape(inp)})`, 'targetShape');
  }
  return [...t];
}
