import { ShapeError, type Shape } from './define';
import { formatShape } from './shapeUtils';

/** For element-wise merges: every input must have the first input's shape. */
export function sameShapes(inputs: readonly Shape[], what: string): Shape {
  const first = inputs[0]!;
  inputs.forEach((s, port) => {
    if (s.length !== first.length || s.some((d, i) => d !== first[i])) {
      throw new ShapeError(
        `${what} needs inputs of the same shape, but input 1 is ${formatShape(first)} and input ${port + 1} is ${formatShape(s)}`,
        undefined,
        port,
      );
    }
  });
  return first;
}
