import { ShapeError, type Shape } from './define';

export type Padding = 'valid' | 'same';

/** Output length of a convolution / pooling along one axis (tfjs-layers' convOutputLength). */
export function convOutputLength(length: number, kernel: number, padding: Padding, stride: number, dilation = 1): number {
  const dilated = kernel + (kernel - 1) * (dilation - 1);
  const out = padding === 'same' ? length : length - dilated + 1;
  return Math.floor((out + stride - 1) / stride);
}

/** Output length of a transposed convolution along one axis (tfjs-layers' deconvLength). */
export function deconvLength(length: number, stride: number, kernel: number, padding: Padding): number {
  return padding === 'valid' ? length * stride + Math.max(kernel - stride, 0) : length * stride;
}

export function product(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function formatShape(shape: Shape): string {
  return shape.join('×');
}

/** Requires an input of the given rank; `what` names it in the error, e.g. 'an image (H×W×C)'. */
export function expectRank(shape: Shape, rank: number, what: string, port = 0): void {
  if (shape.length !== rank) {
    throw new ShapeError(`expects ${what}, got ${shape.length === 0 ? 'a scalar' : formatShape(shape)}`, undefined, port);
  }
}

/**
 * Checks a 2-D window (kernel or pool) against an H×W input for 'valid' padding:
 * "kernelSize 7 is larger than its 5x5 input".
 */
export function checkWindow(input: Shape, size: number, field: string, padding: Padding, dilation = 1): void {
  const [h, w] = input;
  const dilated = size + (size - 1) * (dilation - 1);
  if (padding === 'valid' && (dilated > h! || dilated > w!)) {
    throw new ShapeError(
      `${field} ${size}${dilation > 1 ? ` (dilated to ${dilated})` : ''} is larger than its ${h}x${w} input`,
      field,
    );
  }
}

/** Requires an input of at least the given rank. */
export function expectMinRank(shape: Shape, rank: number, what: string, port = 0): void {
  if (shape.length < rank) {
    throw new ShapeError(`expects ${what}, got ${shape.length === 0 ? 'a scalar' : formatShape(shape)}`, undefined, port);
  }
}

/** The last (feature / channel) dimension. */
export function lastDim(shape: Shape): number {
  return shape[shape.length - 1]!;
}

/** '[5, 7]' for error messages about list params. */
export function formatList(values: readonly number[]): string {
  return `[${values.join(', ')}]`;
}
