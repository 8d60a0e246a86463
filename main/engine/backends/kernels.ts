/**
 * Training kernels that tfjs's wasm backend lacks (or has only as slow scalar C++ loops),
 * registered for the 'wasm' backend with tf.registerKernel.
 *
 * Every kernel here is built from other wasm kernels (XNNPACK convolutions and matrix products,
 * strided slices, transposes, pads, scatter) called as tf ops inside the kernel function, so the
 * heavy arithmetic runs in XNNPACK's SIMD (and, with the threaded build, multi-threaded) code.
 * Tape recording is off inside a kernel (the engine's kernelDepth > 0), the intermediates are
 * freed by tf.tidy, and the returned Tensor becomes the kernel's output, as tfjs-node's kernels do.
 *
 * How each one is built (measured against the alternatives in bench-kernels.ts):
 * - Conv2DBackpropFilter: our wasm module's blocked GEMMs (convGrad.ts: Winograd F(4x4, 3x3) for 3x3
 *   stride 1, im2col otherwise, two threads); where they do not apply (fewer than 8 input channels,
 *   K % 8, LAYERFORGE_CONV_GRAD=direct) a direct, cache-blocked SIMD accumulation (native/kernels.c; up
 *   to 3·3·512 rows of dW). Without the module, or beyond that size, dW = im2col(x)^T · dy as one
 *   XNNPACK convolution (the transposition trick, conv2dBackpropFilter).
 * - Conv2DBackpropInput (replaces the wasm backend's scalar C++ loop): a forward XNNPACK conv2d of
 *   dy (zero-dilated by the stride, padded) with the spatially flipped filter, in/out swapped.
 * - DepthwiseConv2dNativeBackpropFilter: per filter tap, one multiply of the shifted input view
 *   with dy and one sum over batch and space.
 * - DepthwiseConv2dNativeBackpropInput: a depthwise conv2d of dilated, padded dy with the flipped
 *   filter, then a sum over the channel multiplier.
 * - UnsortedSegmentSum (embedding gradient): ScatterNd, which sums duplicate indices.
 * - BatchMatMul (replaces tfjs's): tfjs's wasm BatchMatMul uses XNNPACK only without transposes and
 *   without batch, and then single-threaded; every other case (all of a dense layer's gradients:
 *   dy·Wᵀ and xᵀ·dy) falls to a scalar C++ triple loop. Ours transposes explicitly and runs the
 *   product as a 1x1 XNNPACK convolution (threaded). Batched products with a batched right-hand
 *   side (attention) still go to tfjs's kernel.
 * - MaxPoolGrad (replaces tfjs's, which is WRONG in 4.22: its C++ starts the running maximum at
 *   std::numeric_limits<float>::min(), the smallest *positive* float, so a window whose values are
 *   all <= 0 sends its gradient to element 0 of the tensor, and ties go to the last maximum, not the
 *   first as on cpu/TensorFlow). Ours is the one JavaScript loop here (see maxPoolGrad for why):
 *   first maximum per window, reading and writing the wasm heap in place, with the in-bounds taps of
 *   each window computed once per position (no per-window allocation or fill).
 * - ResizeNearestNeighborGrad (replaces tfjs's, whose results are wrong in 4.22, e.g. for
 *   UpSampling2D): integer up-scaling is a sum over each block (XNNPACK average pool × block size);
 *   other sizes scatter rows then columns with ScatterNd, using the forward op's index mapping.
 * - Sum (replaces tfjs's for one case): a sum over the leading axes (every bias gradient: dy summed
 *   over batch and space) makes tfjs's kernel transpose the whole tensor first; ours sums the rows
 *   of dy as [M, K] in one sequential JavaScript pass over the wasm heap, in float64 (a GEMM with a
 *   row of ones, tried first, spent most of its time packing dy as XNNPACK weights). Other
 *   reductions go to tfjs's kernel.
 * - Identity (replaces tfjs's, which copies the tensor): shares the buffer, reference-counted.
 * - Mean over leading axes (BatchNorm statistics; tfjs's transposes first): our column sums / m.
 * - FusedBatchNorm with per-channel statistics (tfjs's C++ loop takes ~7 ms per 1M elements): one
 *   multiply-add per element in our module, the per-channel factors computed once.
 * - Add (replaces tfjs's for one case): a bias broadcast over the last axis (a Conv2D layer's bias while
 *   training) in one SIMD pass of our module over two threads (elementwise.ts); other Adds: tfjs's.
 * - Conv2DBackpropInput with strides > 1 (and our module): phase by phase, one stride-1 XNNPACK
 *   convolution per phase with the taps that reach it, interleaved into dx (stridedInputGrad).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels, type NativeKernels } from './native';
import { biasAddKernel, scatterPhase } from './elementwise';
import { nativeFilterGrad } from './convGrad';
import type { HeapBackend } from './native/heap';

type TensorInfo = tfjs.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; attrs?: Record<string, unknown>; backend: unknown };
type Conv2DInfo = ReturnType<Tf['backend_util']['computeConv2DInfo']>;

export const WASM = 'wasm';

/** The kernels we register for 'wasm', and whether they replace one tfjs ships. */
export const SUPPLIED_KERNELS = [
  { name: 'Conv2DBackpropFilter', replaces: false },
  { name: 'Conv2DBackpropInput', replaces: true },
  { name: 'DepthwiseConv2dNativeBackpropFilter', replaces: false },
  { name: 'DepthwiseConv2dNativeBackpropInput', replaces: false },
  { name: 'UnsortedSegmentSum', replaces: false },
  { name: 'BatchMatMul', replaces: true },
  { name: '_FusedMatMul', replaces: true },
  { name: 'MaxPoolGrad', replaces: true },
  { name: 'ResizeNearestNeighborGrad', replaces: true },
  { name: 'Sum', replaces: true },
  { name: 'Identity', replaces: true },
  { name: 'Mean', replaces: true },
  { name: 'FusedBatchNorm', replaces: true },
  { name: 'GatherV2', replaces: true },
  { name: 'Add', replaces: true },
] as const;

export type SuppliedKernel = (typeof SUPPLIED_KERNELS)[number]['name'];

function asTensor(tf: Tf, info: TensorInfo | undefined, what: string): tfjs.Tensor {
  if (info == null) throw new Error(`wasm training kernel: missing input '${what}'`);
  if ((info as tfjs.Tensor).rank != null) return info as tfjs.Tensor;
  // A bare TensorInfo (only kernels calling kernels pass these): wrap it without copying.
  return tf.engine().makeTensorFromTensorInfo(info);
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** Inserts (s-1) zeros between rows/columns of an NHWC tensor: [N,H,W,C] -> [N,(H-1)sh+1,(W-1)sw+1,C]. */
export function dilateSpatial(tf: Tf, t: tfjs.Tensor4D, sh: number, sw: number): tfjs.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [n, h, w, c] = t.shape;
  const z = tf.pad(tf.reshape(t, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.slice(tf.reshape(z, [n, h * sh, w * sw, c]), [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tfjs.Tensor4D;
}

/**
 * Pads (or crops, for negative amounts) an NHWC tensor spatially.
 */
function padOrCrop(tf: Tf, t: tfjs.Tensor4D, top: number, bottom: number, left: number, right: number): tfjs.Tensor4D {
  let r = t;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = r.shape;
    const t0 = Math.max(0, -top), b0 = Math.max(0, -bottom), l0 = Math.max(0, -left), r0 = Math.max(0, -right);
    r = tf.slice(r, [0, t0, l0, 0], [n, h - t0 - b0, w - l0 - r0, c]);
  }
  const pt = Math.max(0, top), pb = Math.max(0, bottom), pl = Math.max(0, left), pr = Math.max(0, right);
  if (pt || pb || pl || pr) r = tf.pad(r, [[0, 0], [pt, pb], [pl, pr], [0, 0]]);
  return r;
}

/** The fh·fw strided views of the padded input, each [N, outH, outW, C]. */
function shiftedViews(tf: Tf, x: tfjs.Tensor4D, info: Conv2DInfo): tfjs.Tensor4D[] {
  const { padInfo, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, dilationHeight: dh, dilationWidth: dw } = info;
  const xp = padOrCrop(tf, x, padInfo.top, padInfo.bottom, padInfo.left, padInfo.right);
  const [n, , , c] = xp.shape;
  const views: tfjs.Tensor4D[] = [];
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const r0 = i * dh, c0 = j * dw;
      views.push(tf.stridedSlice(xp, [0, r0, c0, 0], [n, r0 + (oh - 1) * sh + 1, c0 + (ow - 1) * sw + 1, c], [1, sh, sw, 1]) as tfjs.Tensor4D);
    }
  }
  return views;
}

function convInfoFor(tf: Tf, xShape: number[], filterShape: number[], attrs: Record<string, unknown>, depthwise: boolean): Conv2DInfo {
  const dataFormat = tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC');
  if (dataFormat !== 'channelsLast') throw new Error('wasm training kernels support only NHWC (channelsLast) data');
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    pair(attrs.strides as number | [number, number]),
    pair((attrs.dilations as number | [number, number] | undefined) ?? 1),
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
    dataFormat,
  );
}

/**
 * dW[fh,fw,C,F] = sum over batch and output positions of x-patch ⊗ dy, as one forward XNNPACK
 * convolution (the "transposition trick"): the input is x with batch and channels swapped,
 * [C, H, W, N]; the filter is dy as [outH, outW, N, F], dilated by the stride; the output
 * [C, fh', fw', F] holds dW at every tap offset (strided by the forward dilation).
 */
export function conv2dBackpropFilter(tf: Tf, x: tfjs.Tensor4D, dy: tfjs.Tensor4D, attrs: Record<string, unknown>): tfjs.Tensor4D {
  const filterShape = attrs.filterShape as [number, number, number, number];
  return tf.tidy(() => {
    const info = convInfoFor(tf, x.shape, filterShape, attrs, false);
    const { padInfo, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow, batchSize: n } = info;
    const [fh, fw, c, f] = filterShape;
    // Only the rows/columns the forward conv reads: padded input cropped to what the taps reach.
    const xp = padOrCrop(tf, x, padInfo.top, padInfo.bottom, padInfo.left, padInfo.right);
    const hUsed = (oh - 1) * sh + (fh - 1) * dh + 1;
    const wUsed = (ow - 1) * sw + (fw - 1) * dw + 1;
    const xc = xp.shape[1] === hUsed && xp.shape[2] === wUsed ? xp : xp.slice([0, 0, 0, 0], [n, hUsed, wUsed, c]);
    // 3-D transposes are much cheaper than the equivalent 4-D ones in the wasm backend.
    const xT = tf.transpose(xc.reshape([n, hUsed * wUsed, c]), [2, 1, 0]).reshape([c, hUsed, wUsed, n]) as tfjs.Tensor4D;
    const dyT = tf.transpose(dy.reshape([n, oh * ow, f]), [1, 0, 2]).reshape([oh, ow, n, f]) as tfjs.Tensor4D;
    const dilations: [number, number] = [sh, sw];
    let r = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', sh === 1 && sw === 1 ? 1 : dilations); // [C, (fh-1)dh+1, (fw-1)dw+1, F]
    if (dh !== 1 || dw !== 1) r = tf.stridedSlice(r, [0, 0, 0, 0], [c, (fh - 1) * dh + 1, (fw - 1) * dw + 1, f], [1, dh, dw, 1]) as tfjs.Tensor4D;
    // [C, fh, fw, F] -> [fh, fw, C, F]
    return tf.transpose(r.reshape([c, fh * fw, f]), [1, 0, 2]).reshape([fh, fw, c, f]);
  });
}

/**
 * Rows of dW (fh·fw·C) up to which our direct wasm accumulation is used. Measured at batch 64
 * (single-threaded direct vs XNNPACK's 2-thread transposition trick, same run, 2 cores): 3x3x3x32
 * 4.9 vs 16.7 ms, 3x3x32x64 17.5 vs 29.4, 3x3x64x128 27.8 vs 48.8, 3x3x256x256 (batch 32) 117 vs
 * 187, 5x5x1x6 2.5 vs 3.3: the direct one wins everywhere measured, because the trick's GEMM has a
 * reduction of N·OH·OW and streams the whole dy from memory once per row tile. Beyond 3·3·512 rows
 * it is unmeasured, so XNNPACK keeps those.
 */
export const DIRECT_FILTER_GRAD_MAX_ROWS = 3 * 3 * 512;

function conv2dBackpropFilterKernel(tf: Tf, args: KernelArgs): tfjs.Tensor | TensorInfo {
  const x = args.inputs.x;
  const dy = args.inputs.dy;
  if (!x || !dy) throw new Error('Conv2DBackpropFilter: missing input x or dy');
  const attrs = args.attrs ?? {};
  const filterShape = attrs.filterShape as [number, number, number, number];
  const native = x.dtype === 'float32' && dy.dtype === 'float32' ? nativeKernels(args.backend) : null;
  // Our blocked GEMMs (Winograd for 3x3 stride 1, im2col otherwise; convGrad.ts), where they apply.
  const ours = native ? nativeFilterGrad(native, args.backend as HeapBackend, x, dy, convInfoFor(tf, x.shape, filterShape, attrs, false)) : null;
  if (ours) return ours;
  if (native && filterShape[0] * filterShape[1] * filterShape[2] <= DIRECT_FILTER_GRAD_MAX_ROWS) {
    const info = convInfoFor(tf, x.shape, filterShape, attrs, false);
    const backend = args.backend as WasmHeapBackend;
    const out = backend.makeOutput(filterShape, 'float32');
    const f = info.outChannels;
    const call = [heapOffset(backend, x.dataId), heapOffset(backend, dy.dataId), heapOffset(backend, out.dataId), info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, f, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, info.dilationHeight, info.dilationWidth] as const;
    // Two threads split the rows of dW (fh·fw·C) when our helper thread is up; dW is cleared
    // first, then each accumulates into its own contiguous half.
    const helper = native.helper;
    const rows = info.filterHeight * info.filterWidth * info.inChannels;
    const half = Math.floor(rows / 2);
    if (helper?.ready && half > 0) {
      backend.typedArrayFromHeap(out).fill(0);
      helper.alongside('conv2d_filter_grad', [...call, half, rows, 0], () => native.conv2dFilterGrad(...call, 0, half, 0));
    } else {
      native.conv2dFilterGrad(...call, 0, rows, 1);
    }
    return out;
  }
  return conv2dBackpropFilter(tf, asTensor(tf, x, 'x') as tfjs.Tensor4D, asTensor(tf, dy, 'dy') as tfjs.Tensor4D, attrs);
}

/** dx = conv2d(dilate(dy, stride), flip(W) with in/out swapped), padded so that dx has x's shape. */
export function conv2dBackpropInput(tf: Tf, dy: tfjs.Tensor4D, filter: tfjs.Tensor4D, attrs: Record<string, unknown>, backend?: unknown): tfjs.Tensor4D {
  const inputShape = attrs.inputShape as [number, number, number, number];
  return tf.tidy(() => {
    const info = convInfoFor(tf, inputShape, filter.shape, attrs, false);
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, padInfo } = info;
    const native = (sh > 1 || sw > 1) && dy.dtype === 'float32' && filter.dtype === 'float32' ? nativeKernels(backend) : null;
    const phased = native?.has('ew_phase_scatter') ? stridedInputGrad(tf, native, backend, dy, filter, info) : null;
    if (phased) return phased;
    const d = dilateSpatial(tf, dy, sh, sw);
    const top = fh - 1 - padInfo.top;
    const left = fw - 1 - padInfo.left;
    const bottom = inHeight + fh - 1 - top - d.shape[1];
    const right = inWidth + fw - 1 - left - d.shape[2];
    const wFlipped = flipSwapFilter(tf, filter, backend);
    // Non-negative padding goes to the convolution itself (XNNPACK pads on the fly, no PadV2 copy).
    if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) {
      return tf.conv2d(d, wFlipped, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    }
    return tf.conv2d(padOrCrop(tf, d, top, bottom, left, right), wFlipped, 1, 'valid');
  });
}

/** The filter taps of one phase along one axis, and the padding of dy that gives that phase's rows. */
interface PhaseAxis {
  /** Taps k (k ≡ (r0 + pad) mod s) that reach positions r0, r0 + s, …, increasing. */
  taps: number[];
  /** Positions of the phase: ceil((size - r0) / s). */
  count: number;
  /** Padding of dy before and after (stride-1 correlation of dy with the reversed taps). */
  before: number;
  after: number;
}

function phaseAxis(r0: number, s: number, f: number, pad: number, size: number, out: number): PhaseAxis {
  const q = r0 + pad;
  const taps: number[] = [];
  for (let k = q % s; k < f; k += s) taps.push(k);
  const count = r0 < size ? Math.ceil((size - r0) / s) : 0;
  // dx[r0 + s·m] = Σ_j dy[m + ⌊q/s⌋ - j] · W[taps[j]]: rows m - before … m - before + J - 1 of dy.
  const before = taps.length - 1 - Math.floor(q / s);
  return { taps, count, before, after: count - 1 + taps.length - out - before };
}

/**
 * dx of a strided convolution, phase by phase: positions (y0 + sh·m, x0 + sw·k) receive dy only through
 * the taps ≡ (y0 + pad) mod sh (and likewise for columns), so each of the sh·sw phases is a stride-1
 * XNNPACK convolution of dy with those taps (reversed, in/out swapped), interleaved into dx by our module
 * (elementwise.c ew_phase_scatter); phases no tap reaches are zeros. Instead of convolving a zero-dilated
 * dy (PadV2 + Slice copies and sh·sw times the multiplies, most of them by zeros). Null for dilated
 * filters or a padding that would crop dy (the caller then dilates).
 */
function stridedInputGrad(tf: Tf, native: NativeKernels, backend: unknown, dy: tfjs.Tensor4D, filter: tfjs.Tensor4D, info: Conv2DInfo): tfjs.Tensor4D | null {
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow, padInfo, batchSize: n } = info;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || dy.shape[1] !== oh || dy.shape[2] !== ow) return null;
  const rows = Array.from({ length: sh }, (_, y0) => phaseAxis(y0, sh, fh, padInfo.top, h, oh));
  const cols = Array.from({ length: sw }, (_, x0) => phaseAxis(x0, sw, fw, padInfo.left, w, ow));
  const crops = (a: PhaseAxis) => a.count > 0 && a.taps.length > 0 && (a.before < 0 || a.after < 0);
  if (rows.some(crops) || cols.some(crops)) return null;
  // The filter ([fh, fw, ci, co]) copied off the wasm heap (small), since allocations below may grow and move the heap.
  const wv = (backend as WasmHeapBackend).typedArrayFromHeap(filter).slice();
  return tf.tidy(() => {
    const dxInfo = (backend as WasmHeapBackend).makeOutput([n, h, w, ci], 'float32');
    const dx = tf.engine().makeTensorFromTensorInfo(dxInfo) as tfjs.Tensor4D;
    for (const [y0, r] of rows.entries()) {
      for (const [x0, c] of cols.entries()) {
        if (r.count === 0 || c.count === 0) continue;
        const J = r.taps.length, K = c.taps.length;
        if (J === 0 || K === 0) {
          scatterPhase(native, backend, null, dxInfo, r.count, c.count, y0, x0, sh, sw);
          continue;
        }
        // F[t, u, co, ci] = W[taps_r[J-1-t], taps_c[K-1-u], ci, co]
        const f = new Float32Array(J * K * co * ci);
        for (let t = 0; t < J; t++) {
          for (let u = 0; u < K; u++) {
            const src = (r.taps[J - 1 - t]! * fw + c.taps[K - 1 - u]!) * ci * co;
            const dst = (t * K + u) * co * ci;
            for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) f[dst + o * ci + i] = wv[src + i * co + o]!;
          }
        }
        const sub = tf.conv2d(dy, tf.tensor4d(f, [J, K, co, ci]), 1, [[0, 0], [r.before, r.after], [c.before, c.after], [0, 0]]);
        if (sub.shape[1] !== r.count || sub.shape[2] !== c.count) throw new Error(`Conv2DBackpropInput: phase (${y0}, ${x0}) gave ${sub.shape.join('x')}, expected ${r.count}x${c.count} positions`);
        scatterPhase(native, backend, sub, dxInfo, r.count, c.count, y0, x0, sh, sw);
        sub.dispose();
      }
    }
    return dx;
  });
}

/** flip(W) spatially with in/out channels swapped: by our wasm module where loaded, else Reverse + Transpose. */
function flipSwapFilter(tf: Tf, filter: tfjs.Tensor4D, backend: unknown): tfjs.Tensor4D {
  const native = filter.dtype === 'float32' ? nativeKernels(backend) : null;
  const [fh, fw, ci, co] = filter.shape;
  if (!native) return tf.reverse(filter, [0, 1]).transpose([0, 1, 3, 2]) as tfjs.Tensor4D;
  const b = backend as WasmHeapBackend;
  const out = b.makeOutput([fh, fw, co, ci], 'float32');
  native.filterFlipSwap(heapOffset(b, filter.dataId), heapOffset(b, out.dataId), fh, fw, ci, co);
  return tf.engine().makeTensorFromTensorInfo(out) as tfjs.Tensor4D;
}

export function depthwiseBackpropFilter(tf: Tf, x: tfjs.Tensor4D, dy: tfjs.Tensor4D, attrs: Record<string, unknown>): tfjs.Tensor4D {
  const filterShape = attrs.filterShape as [number, number, number, number];
  return tf.tidy(() => {
    const info = convInfoFor(tf, x.shape, filterShape, attrs, true);
    const [fh, fw, c, mult] = filterShape;
    const [n, oh, ow] = [info.batchSize, info.outHeight, info.outWidth];
    const dy5 = dy.reshape([n * oh * ow, c, mult]);
    const taps = shiftedViews(tf, x, info).map((v) => tf.sum(tf.mul(v.reshape([n * oh * ow, c, 1]), dy5), 0));
    return tf.stack(taps).reshape([fh, fw, c, mult]);
  });
}

export function depthwiseBackpropInput(tf: Tf, dy: tfjs.Tensor4D, filter: tfjs.Tensor4D, attrs: Record<string, unknown>): tfjs.Tensor4D {
  const inputShape = attrs.inputShape as [number, number, number, number];
  return tf.tidy(() => {
    const info = convInfoFor(tf, inputShape, filter.shape, attrs, true);
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, padInfo, dilationHeight, dilationWidth } = info;
    if (dilationHeight !== 1 || dilationWidth !== 1) throw new Error('DepthwiseConv2dNativeBackpropInput: dilations > 1 are not supported');
    const [, , c, mult] = filter.shape;
    const d = dilateSpatial(tf, dy, sh, sw);
    const top = fh - 1 - padInfo.top;
    const left = fw - 1 - padInfo.left;
    const bottom = inHeight + fh - 1 - top - d.shape[1];
    const right = inWidth + fw - 1 - left - d.shape[2];
    const dp = padOrCrop(tf, d, top, bottom, left, right);
    const wFlipped = tf.reverse(filter, [0, 1]).reshape([fh, fw, c * mult, 1]) as tfjs.Tensor4D;
    const full = tf.depthwiseConv2d(dp, wFlipped, 1, 'valid');
    if (mult === 1) return full;
    const [n, h, w] = full.shape;
    return full.reshape([n, h, w, c, mult]).sum(4) as tfjs.Tensor4D;
  });
}

export function unsortedSegmentSum(tf: Tf, x: tfjs.Tensor, segmentIds: tfjs.Tensor, numSegments: number): tfjs.Tensor {
  return tf.tidy(() => {
    const idsRank = segmentIds.shape.length;
    const rest = x.shape.slice(idsRank);
    const count = segmentIds.size;
    const ids = segmentIds.reshape([count, 1]).cast('int32');
    const updates = x.reshape([count, ...rest]);
    return tf.scatterND(ids, updates, [numSegments, ...rest]);
  });
}

/** A[M,K]·B[K,N] as a 1x1 convolution: XNNPACK's GEMM on the backend's thread pool. */
export function matMulAsConv(tf: Tf, a: tfjs.Tensor2D, b: tfjs.Tensor2D): tfjs.Tensor2D {
  const [m, k] = a.shape;
  const n = b.shape[1];
  return tf.conv2d(a.reshape([1, m, 1, k]) as tfjs.Tensor4D, b.reshape([1, 1, k, n]) as tfjs.Tensor4D, 1, 'valid').reshape([m, n]);
}

/** Whether products go to our module's GEMM (off: the XNNPACK convolution path; benchmarks compare the two). */
let nativeGemm = true;
export function setNativeGemmEnabled(on: boolean): void {
  nativeGemm = on;
}

/**
 * The smallest product (multiply-adds) that our GEMM splits with the helper thread (LAYERFORGE_GEMM_HELPER_MIN
 * overrides). Below it the product stays on the calling thread: a hand-off (wake the helper, wait for it) costs
 * ~15-25 µs back to back and, right after an XNNPACK operator (its pthreadpool workers spin on the cores
 * after each op) or on a busy machine, often 0.3-4 ms, while a half of a 2^22 product saves ~0.1 ms. It was
 * 262,144: lenet5's and transformer-classifier's dense products (0.6-3 M multiply-adds) were then 1.4-5.7x
 * slower per kernel than on one thread in training steps under load, the forward most (its products follow
 * Relu / Add / Conv2D, which run on XNNPACK's pool). bench-gemm-split.ts / bench-dense-step.ts measure it.
 */
let gemmHelperMin = Number(process.env.LAYERFORGE_GEMM_HELPER_MIN ?? '') || 1 << 22;
/** The helper threshold (multiply-adds) now in force (dense.ts follows it too). */
export function gemmHelperMinimum(): number {
  return gemmHelperMin;
}
/** Sets the helper threshold (multiply-adds); benchmarks compare values in one process. Returns the old one. */
export function setGemmHelperMin(macs: number): number {
  const old = gemmHelperMin;
  gemmHelperMin = macs;
  return old;
}

/**
 * Whether products take the packed GEMM (native/kernels.c: gemm_pk: B packed into 8-column panels per
 * block, bias and relu / relu6 applied in the store, two threads splitting rows or, for wide outputs
 * with few rows (a weight gradient), columns). LAYERFORGE_GEMM_PACKED=0: the plain `gemm` (+ bias_act).
 */
let packedGemm = process.env.LAYERFORGE_GEMM_PACKED !== '0';
/** Whether the packed GEMM is on (callers of runProduct / productCall, dense.ts included, follow it). */
export function packedGemmEnabled(): boolean {
  return packedGemm;
}
/** Turns the packed GEMM on or off (benchmarks compare the two in one process). Returns the old setting. */
export function setPackedGemmEnabled(on: boolean): boolean {
  const old = packedGemm;
  packedGemm = on;
  return old;
}
/** Below this many multiply-adds (or k < 8) a product stays on the plain gemm: packing and its scratch cost more than they save. */
const PACKED_MIN = 16_384;
/** gemm_pk's scratch per thread: PK_KC · (min(n, PK_NC) + 8) floats (kernels.c). */
const packedScratch = (n: number) => 256 * (Math.min(n, 256) + 8);

/**
 * A float32 product on tfjs's wasm heap for our module (native/kernels.c), for every caller of our GEMM
 * (BatchMatMul, _FusedMatMul, dense.ts's op): for each bi < batch,
 *   C[bi] [m, n] = act(op(A[bi]) · op(B[bi]) + bias)
 * a, b, c, bias: heap byte offsets (bias 0: none). A is [m, k] ([k, m] with ta), B [k, n] ([n, k] with tb);
 * aStride / bStride: floats from one batch's matrix to the next (0: one matrix shared by every batch);
 * C is dense [batch, m, n]. act (0 linear, 1 relu, 2 relu6) needs a bias.
 */
export interface HeapProduct {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly ta?: boolean;
  readonly tb?: boolean;
  readonly batch?: number;
  readonly aStride?: number;
  readonly bStride?: number;
  readonly bias?: number;
  readonly act?: number;
}

/** What one thread computes of a product: batches [b0, b1), rows [r0, r1), columns [c0, c1) (a column range: gemm_pk only, c0 a multiple of 8). */
export type ProductPart = readonly [b0: number, b1: number, r0: number, r1: number, c0: number, c1: number];

/** Multiply-adds of a product. */
export const productMacs = (p: HeapProduct): number => p.m * p.n * p.k * (p.batch ?? 1);

/** Whether p takes the packed GEMM (gemm_pk: bias and act in its store), else the plain gemm (+ bias_act after). */
export function productIsPacked(native: NativeKernels, p: HeapProduct): boolean {
  return packedGemm && p.k >= 8 && p.m * p.n * p.k >= PACKED_MIN && native.has('gemm_pk');
}

/** Scratch floats one thread needs for p: gemm_pk's panels, or the plain gemm's transposed copy of B (0: none). */
export function productScratchFloats(native: NativeKernels, p: HeapProduct): number {
  return productIsPacked(native, p) ? packedScratch(p.n) : p.tb ? p.k * p.n : 0;
}

/**
 * p in two halves for two threads, or null (nothing to split): batches; for a wide, short packed product (a
 * weight gradient xᵀ·dy) columns, so that each thread packs only its half of B; else rows (from 8 rows).
 */
export function productHalves(native: NativeKernels, p: HeapProduct): [ProductPart, ProductPart] | null {
  const batch = p.batch ?? 1;
  if (batch > 1) {
    const h = Math.floor(batch / 2);
    return [[0, h, 0, p.m, 0, p.n], [h, batch, 0, p.m, 0, p.n]];
  }
  if (productIsPacked(native, p) && p.n > p.m && p.n >= 16) {
    const h = Math.floor(p.n / 16) * 8;
    return [[0, 1, 0, p.m, 0, h], [0, 1, 0, p.m, h, p.n]];
  }
  if (p.m < 8) return null;
  const h = Math.floor(p.m / 8) * 4;
  return [[0, 1, 0, h, 0, p.n], [0, 1, h, p.m, 0, p.n]];
}

/**
 * The export and arguments that compute `part` of p (default: all of it) on one thread, `pack` the heap
 * offset of productScratchFloats(p) floats of its own. The plain gemm has no epilogue: run productEpilogue
 * once every part is done.
 */
export function productCall(native: NativeKernels, p: HeapProduct, pack: number, part: ProductPart = [0, p.batch ?? 1, 0, p.m, 0, p.n]): [string, number[]] {
  const [b0, b1, r0, r1, c0, c1] = part;
  const head = [p.a, p.b, p.c, pack, p.m, p.n, p.k, p.ta ? 1 : 0, p.tb ? 1 : 0, p.aStride ?? 0, p.bStride ?? 0, b0, b1, r0, r1];
  if (productIsPacked(native, p)) return ['gemm_pk', [...head, c0, c1, p.bias ?? 0, p.act ?? 0]];
  if (c0 !== 0 || c1 !== p.n) throw new Error('productCall: the plain gemm computes whole rows only');
  return ['gemm', head];
}

/** The plain gemm's epilogue (bias and act over all of C, one bias_act pass), once every part is done; nothing for gemm_pk (its store applies them). */
export function productEpilogue(native: NativeKernels, p: HeapProduct): void {
  if (p.bias && !productIsPacked(native, p)) native.biasAct(p.c, p.bias, p.m * (p.batch ?? 1), p.n, p.act ?? 0);
}

/** Whether p goes to both threads: the helper is up, p has two halves and at least `minimum` multiply-adds (default: the GEMM helper threshold). */
export function productSplits(native: NativeKernels, p: HeapProduct, minimum = gemmHelperMin): boolean {
  return native.helper?.ready === true && productMacs(p) >= minimum && productHalves(native, p) !== null;
}

/**
 * Computes p: on this thread, or with `split` (see productSplits) half on the helper thread (`pack` then
 * holds two blocks of productScratchFloats(p) floats, the helper's second), then the plain gemm's epilogue.
 */
export function runProduct(native: NativeKernels, p: HeapProduct, pack: number, split: boolean): void {
  const two = split && native.helper?.ready ? productHalves(native, p) : null;
  if (two) {
    const [fn, here] = productCall(native, p, pack, two[0]);
    const [, there] = productCall(native, p, pack + 4 * productScratchFloats(native, p), two[1]);
    const f = native.fn(fn);
    native.helper!.alongside(fn, there, () => f(...here));
  } else {
    const [fn, args] = productCall(native, p, pack);
    native.fn(fn)(...args);
  }
  productEpilogue(native, p);
}

/** A bias (a 1-d tensor over the output's last axis) and relu / relu6 applied to a product's output. */
interface Epilogue {
  bias: TensorInfo;
  /** 0 linear, 1 relu, 2 relu6 (bias_act's and gemm_pk's codes). */
  act: number;
}

/**
 * A float32 product on our module's two-thread GEMM (runProduct: gemm_pk, or gemm for tiny products and
 * with LAYERFORGE_GEMM_PACKED=0), for any transposes and for batches where one side is shared or both
 * have the same batch (attention's products), with no transposed copies: B is repacked inside the kernel,
 * per thread. An epilogue (bias, relu / relu6) is applied in gemm_pk's store, or by one bias_act pass
 * after gemm. Returns null when the module is absent or the shapes broadcast otherwise.
 */
function nativeBatchMatMul(tf: Tf, args: KernelArgs, epilogue?: Epilogue): TensorInfo | null {
  const native = nativeKernels(args.backend);
  const a = args.inputs.a, b = args.inputs.b;
  if (!native || !a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const ta = Boolean(args.attrs?.transposeA), tb = Boolean(args.attrs?.transposeB);
  const prod = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const aBatchShape = a.shape.slice(0, -2), bBatchShape = b.shape.slice(0, -2);
  const aBatch = prod(aBatchShape), bBatch = prod(bBatchShape);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  const batch = prod(batchShape);
  // Same batch on both sides (after broadcasting), or one side shared by every batch.
  if (!(aBatch === bBatch && aBatch === batch) && aBatch !== 1 && bBatch !== 1) return null;
  let m = ta ? ac : ar;
  const k = ta ? ar : ac, n = tb ? br : bc;
  if (m * n * batch === 0) return null;
  let calls = batch;
  // A shared B with an untransposed, batched A is one tall product: [batch*m, k]·B.
  if (bBatch === 1 && !ta && batch > 1) {
    m *= batch;
    calls = 1;
  }
  const backend = args.backend as WasmHeapBackend & { disposeData(id: object): void };
  const out = backend.makeOutput([...batchShape, ta ? ac : ar, tb ? br : bc], 'float32');
  const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
  const p: HeapProduct = { a: at(a), b: at(b), c: at(out), m, n, k, ta, tb, batch: calls, aStride: aBatch === 1 ? 0 : ar * ac, bStride: bBatch === 1 ? 0 : br * bc, bias: epilogue ? at(epilogue.bias) : 0, act: epilogue?.act ?? 0 };
  const split = productSplits(native, p);
  const floats = productScratchFloats(native, p);
  const pack = floats ? backend.makeOutput([split ? 2 * floats : floats], 'float32') : null;
  try {
    runProduct(native, p, pack ? at(pack) : 0, split);
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  } finally {
    if (pack) backend.disposeData(pack.dataId);
  }
  return out;
}

/**
 * A dense layer's forward product with bias and activation (tfjs's _FusedMatMul runs XNNPACK on one
 * thread): the product on our GEMM, then a 1-d bias with linear / relu / relu6 in one in-place pass of our
 * module (bias_act), other biases and activations as wasm ops. (tfjs's own kernel
 * differed from cpu with prelu and transposed operands in 4.22; ours matches cpu.)
 */
function fusedMatMul(tf: Tf, args: KernelArgs, original: tfjs.KernelConfig | undefined): tfjs.Tensor | TensorInfo | TensorInfo[] {
  const activation = String(args.attrs?.activation ?? 'linear');
  const acts: Record<string, ((x: tfjs.Tensor) => tfjs.Tensor) | undefined> = {
    linear: (x) => x,
    relu: (x) => tf.relu(x),
    relu6: (x) => tf.relu6(x),
    sigmoid: (x) => tf.sigmoid(x),
    elu: (x) => tf.elu(x),
    leakyrelu: (x) => tf.leakyRelu(x, Number(args.attrs?.leakyreluAlpha ?? 0.2)),
    prelu: (x) => tf.prelu(x, asTensor(tf, args.inputs.preluActivationWeights, 'preluActivationWeights')),
  };
  const act = acts[activation];
  // A 1-d bias with linear / relu / relu6 goes into the product's store (gemm_pk), or one in-place pass
  // over the fresh product (our module's bias_act).
  const bias = args.inputs.bias;
  const code = ({ linear: 0, relu: 1, relu6: 2 } as Record<string, number | undefined>)[activation];
  const b = args.inputs.b;
  const n = b ? (args.attrs?.transposeB ? b.shape.at(-2) : b.shape.at(-1)) : undefined;
  const epilogue = bias && code !== undefined && bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === n ? { bias, act: code } : undefined;
  const product = nativeGemm && act ? nativeBatchMatMul(tf, { inputs: { a: args.inputs.a, b: args.inputs.b }, attrs: args.attrs, backend: args.backend }, epilogue) : null;
  if (!product || !act) return fallback('_FusedMatMul', args, original);
  if (epilogue) return product;
  return tf.tidy(() => {
    let y = asTensor(tf, product, 'product');
    if (args.inputs.bias) y = tf.add(y, asTensor(tf, args.inputs.bias, 'bias'));
    return act(y);
  });
}

/**
 * Rows of a table by index (an Embedding's lookup: GatherV2 on axis 0). tfjs's wasm kernel copies
 * element by element (~35 ms for 4,096 rows of 128 floats); here each row is one block copy on the
 * heap. Other axes, batch dimensions and dtypes go to tfjs's kernel.
 */
function gatherRows(args: KernelArgs, original: tfjs.KernelConfig | undefined): tfjs.Tensor | TensorInfo | TensorInfo[] {
  const { x, indices } = args.inputs;
  const axis = Number(args.attrs?.axis ?? 0), batchDims = Number(args.attrs?.batchDims ?? 0);
  if (!x || !indices || axis !== 0 || batchDims !== 0 || x.dtype !== 'float32' || indices.dtype !== 'int32' || x.shape.length < 1) return fallback('GatherV2', args, original);
  const backend = args.backend as WasmHeapBackend & { disposeData(id: object): void };
  const rows = x.shape[0]!;
  const width = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], 'float32');
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const ids = backend.typedArrayFromHeap(indices) as unknown as Int32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  for (let i = 0; i < ids.length; i++) {
    const r = ids[i]!;
    if (r < 0 || r >= rows) {
      (backend as unknown as { disposeData(id: object): void }).disposeData(out.dataId);
      throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`);
    }
    dst.set(src.subarray(r * width, (r + 1) * width), i * width);
  }
  return out;
}

function batchMatMul(tf: Tf, args: KernelArgs, original: tfjs.KernelConfig | undefined): tfjs.Tensor | TensorInfo | TensorInfo[] {
  if (nativeGemm) {
    const viaNative = nativeBatchMatMul(tf, args);
    if (viaNative) return viaNative;
  }
  const a = asTensor(tf, args.inputs.a, 'a');
  const b = asTensor(tf, args.inputs.b, 'b');
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  const prod = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const aBatch = prod(a.shape.slice(0, -2));
  const bBatch = prod(b.shape.slice(0, -2));
  const fast = a.dtype === 'float32' && b.dtype === 'float32' && a.size > 0 && b.size > 0 && bBatch === 1 && (aBatch === 1 || !transposeA);
  if (!fast) return fallback('BatchMatMul', args, original);
  return tf.tidy(() => {
    const [ar, ac] = a.shape.slice(-2) as [number, number];
    const [br, bc] = b.shape.slice(-2) as [number, number];
    const a2 = (aBatch === 1 ? a.reshape([ar, ac]) : a.reshape([aBatch * ar, ac])) as tfjs.Tensor2D;
    const b2 = b.reshape([br, bc]) as tfjs.Tensor2D;
    let out: tfjs.Tensor2D;
    const [m, k] = a2.shape;
    const n = br;
    // a·bᵀ with a small (a dense layer's dx = dy·Wᵀ): computing (b·aᵀ)ᵀ transposes and packs the
    // small a and transposes the [m, n] result, instead of transposing and packing all of b.
    if (!transposeA && transposeB && 2 * m * k + m * n < 2 * n * k) {
      out = matMulAsConv(tf, b2, a2.transpose() as tfjs.Tensor2D).transpose() as tfjs.Tensor2D;
    } else {
      out = matMulAsConv(tf, transposeA ? (a2.transpose() as tfjs.Tensor2D) : a2, transposeB ? (b2.transpose() as tfjs.Tensor2D) : b2);
    }
    const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return out.reshape([...batchShape, transposeA ? ac : ar, transposeB ? br : bc]);
  });
}

function poolInfoFor(tf: Tf, xShape: number[], attrs: Record<string, unknown>) {
  return tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    pair(attrs.filterSize as number | [number, number]),
    pair(attrs.strides as number | [number, number]),
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
}

interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

let maxPoolGradTiled = process.env.LAYERFORGE_MAXPOOL_GRAD_TILED !== '0';
/** Turns the store-only kernel for tiling windows on or off (tests and benchmarks compare both); returns the old value. */
export function setMaxPoolGradTiledEnabled(on: boolean): boolean {
  const old = maxPoolGradTiled;
  maxPoolGradTiled = on;
  return old;
}

/**
 * dx of max pooling: dy goes to the first maximum of each window (as on cpu and in TensorFlow).
 *
 * A scalar loop, like tfjs's own C++ kernel, but in JavaScript over views of the wasm heap (no
 * copies), with the channel loop innermost so that every read is sequential. Measured against an
 * op-composed version (per-tap views + equal/where + interleave), this is several times faster:
 * the wasm backend's Slice copies its whole input through readSync and its StridedSlice is a
 * generic per-element loop, so views of a large tensor are expensive there.
 */
export function maxPoolGrad(tf: Tf, backend: WasmHeapBackend, dy: TensorInfo, x: TensorInfo, attrs: Record<string, unknown>): TensorInfo {
  const info = poolInfoFor(tf, x.shape, attrs);
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, effectiveFilterHeight: efh, effectiveFilterWidth: efw, padInfo } = info;
  const out = backend.makeOutput(x.shape, 'float32');
  const native = nativeKernels(backend);
  // Windows that tile the input (stride = window, no dilation or padding: a 2x2 / stride 2 pool): our
  // store-only kernel, which needs no clearing pass (LAYERFORGE_MAXPOOL_GRAD_TILED=0: the general one).
  const tiled = maxPoolGradTiled && native?.has('maxpool_grad_tiled') && dh === 1 && dw === 1 && sh === efh && sw === efw && padInfo.top === 0 && padInfo.left === 0 && oh * sh <= h && ow * sw <= w;
  if (native && tiled) {
    const call = [heapOffset(backend, x.dataId), heapOffset(backend, dy.dataId), heapOffset(backend, out.dataId), nb, h, w, c, oh, ow, efh, efw] as const;
    const half = Math.floor(nb / 2);
    const run = native.fn('maxpool_grad_tiled');
    if (native.helper?.ready && half > 0) native.helper.alongside('maxpool_grad_tiled', [...call, half, nb], () => run(...call, 0, half));
    else run(...call, 0, nb);
    return out;
  }
  if (native) {
    const call = [heapOffset(backend, x.dataId), heapOffset(backend, dy.dataId), heapOffset(backend, out.dataId), nb, h, w, c, oh, ow, sh, sw, padInfo.top, padInfo.left, efh, efw, dh, dw] as const;
    // Two threads split the batch (disjoint images of dx) when our helper thread is up.
    const half = Math.floor(nb / 2);
    if (native.helper?.ready && half > 0) {
      native.helper.alongside('maxpool_grad', [...call, half, nb], () => native.maxpoolGrad(...call, 0, half));
    } else {
      native.maxpoolGrad(...call, 0, nb);
    }
    return out;
  }
  // Views taken after makeOutput: an allocation may grow (and replace) the heap buffer.
  const X = backend.typedArrayFromHeap(x);
  const DY = backend.typedArrayFromHeap(dy);
  const DX = backend.typedArrayFromHeap(out);
  DX.fill(0);
  // Per output position: the offsets (within one image) of the window's taps that lie inside the
  // input, in row-major order (so that ties go to the first maximum); computed once per call.
  const maxTaps = Math.ceil(efh / dh) * Math.ceil(efw / dw);
  const positions = oh * ow;
  const taps = new Int32Array(positions * maxTaps);
  const counts = new Int32Array(positions);
  for (let yr = 0; yr < oh; yr++) {
    const r0 = yr * sh - padInfo.top;
    for (let yc = 0; yc < ow; yc++) {
      const c0 = yc * sw - padInfo.left;
      const q = yr * ow + yc;
      let nt = 0;
      for (let wr = 0; wr < efh; wr += dh) {
        const xr = r0 + wr;
        if (xr < 0 || xr >= h) continue;
        for (let wc = 0; wc < efw; wc += dw) {
          const xc = c0 + wc;
          if (xc < 0 || xc >= w) continue;
          taps[q * maxTaps + nt++] = (xr * w + xc) * c;
        }
      }
      counts[q] = nt;
    }
  }
  const imageSize = h * w * c;
  for (let b = 0; b < nb; b++) {
    const img = b * imageSize;
    for (let q = 0; q < positions; q++) {
      const nt = counts[q]!;
      if (nt === 0) continue;
      const tq = q * maxTaps;
      const first = img + taps[tq]!;
      const dyBase = (b * positions + q) * c;
      for (let ch = 0; ch < c; ch++) {
        let bp = first + ch;
        let bv = X[bp]!;
        for (let k = 1; k < nt; k++) {
          const p = img + taps[tq + k]! + ch;
          const v = X[p]!;
          // NaN never wins a comparison: skip a NaN first tap, as the cpu backend's -Infinity start does.
          if (v > bv || bv !== bv) {
            bv = v;
            bp = p;
          }
        }
        DX[bp]! += DY[dyBase + ch]!;
      }
    }
  }
  return out;
}

/** The source row (or column) each output row reads in tfjs's ResizeNearestNeighbor. */
export function nearestSourceIndex(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const out = new Int32Array(outSize);
  for (let r = 0; r < outSize; r++) {
    const frac = halfPixelCenters ? ratio * (r + 0.5) : ratio * r;
    let src = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    if (halfPixelCenters) src = Math.max(0, src);
    out[r] = src;
  }
  return out;
}

export function resizeNearestNeighborGrad(tf: Tf, images: tfjs.Tensor4D, dy: tfjs.Tensor4D, attrs: Record<string, unknown>): tfjs.Tensor4D {
  return tf.tidy(() => {
    const [n, inH, inW, c] = images.shape;
    const [, outH, outW] = dy.shape;
    const rows = nearestSourceIndex(inH, outH, Boolean(attrs.alignCorners), Boolean(attrs.halfPixelCenters));
    const cols = nearestSourceIndex(inW, outW, Boolean(attrs.alignCorners), Boolean(attrs.halfPixelCenters));
    const fh = outH / inH, fw = outW / inW;
    const blocks = Number.isInteger(fh) && Number.isInteger(fw) && rows.every((s, r) => s === Math.floor(r / fh)) && cols.every((s, q) => s === Math.floor(q / fw));
    if (blocks) {
      if (fh === 1 && fw === 1) return dy.clone();
      // Each input pixel receives the sum of its fh×fw block.
      return tf.mul(tf.avgPool(dy, [fh, fw], [fh, fw], 'valid'), fh * fw) as tfjs.Tensor4D;
    }
    const rowIds = new Int32Array(n * outH);
    for (let b = 0; b < n; b++) for (let r = 0; r < outH; r++) rowIds[b * outH + r] = b * inH + rows[r]!;
    const byRows = tf.scatterND(tf.tensor2d(rowIds, [n * outH, 1], 'int32'), tf.reshape(dy, [n * outH, outW * c]), [n * inH, outW * c]);
    const colIds = new Int32Array(n * inH * outW);
    for (let m = 0; m < n * inH; m++) for (let q = 0; q < outW; q++) colIds[m * outW + q] = m * inW + cols[q]!;
    const byCols = tf.scatterND(tf.tensor2d(colIds, [n * inH * outW, 1], 'int32'), tf.reshape(byRows, [n * inH * outW, c]), [n * inH * inW, c]);
    return tf.reshape(byCols, [n, inH, inW, c]);
  });
}

/**
 * A float32 reduction over the leading axes of x (Sum / Mean with axis [0..r-1], r < rank): x as
 * [m, k] (outer 1), or with middle, over adjacent inner axes (not the last): x as [outer, m, k]; the
 * output allocated; null for every other case (the caller uses tfjs's kernel).
 */
function leadingReduction(args: KernelArgs, middle = false): { x: TensorInfo; outer: number; m: number; k: number; out: TensorInfo; backend: WasmHeapBackend } | null {
  const x = args.inputs.x;
  const rank = x?.shape.length ?? 0;
  const raw = args.attrs?.axis as number | number[] | undefined;
  const axes = (raw == null ? [...Array(rank).keys()] : Array.isArray(raw) ? raw : [raw]).map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  const first = axes[0] ?? 0;
  // One block of adjacent axes that is not the last axis: leading ([m, k]), or with middle, also
  // inside the shape ([outer, m, k]: a global average pool's Mean over [1, 2]).
  const block = axes.length > 0 && axes.every((a, i) => a === first + i) && axes.at(-1)! < rank - 1 && (first === 0 || (middle && reduceMiddle));
  if (!x || x.dtype !== 'float32' || !block || x.shape.some((d) => d === 0)) return null;
  const backend = args.backend as WasmHeapBackend;
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const outer = size(x.shape.slice(0, first));
  const m = size(x.shape.slice(first, first + axes.length));
  const k = size(x.shape.slice(first + axes.length));
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = backend.makeOutput(args.attrs?.keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i)), 'float32');
  return { x, outer, m, k, out, backend };
}

/** Sum / Mean over middle axes ([outer, m, k]) on our module (LAYERFORGE_REDUCE_MIDDLE=0: tfjs's kernels, which transpose first). */
let reduceMiddle = process.env.LAYERFORGE_REDUCE_MIDDLE !== '0';
/** Turns the middle-axes reduction on or off (tests and benchmarks compare both); returns the old value. */
export function setReduceMiddleEnabled(on: boolean): boolean {
  const old = reduceMiddle;
  reduceMiddle = on;
  return old;
}

/** Column sums of each of outer [m, k] blocks of x into out (our module's sum_rows, once per block). */
function sumBlocks(native: NativeKernels, r: { x: TensorInfo; outer: number; m: number; k: number; out: TensorInfo; backend: WasmHeapBackend }): void {
  const xAt = heapOffset(r.backend, r.x.dataId), outAt = heapOffset(r.backend, r.out.dataId);
  for (let o = 0; o < r.outer; o++) native.sumRows(xAt + 4 * o * r.m * r.k, outAt + 4 * o * r.k, r.m, r.k);
}

function fallback(name: string, args: KernelArgs, original: tfjs.KernelConfig | undefined): tfjs.Tensor | TensorInfo | TensorInfo[] {
  if (!original) throw new Error(`${name}: no wasm kernel for this case`);
  return original.kernelFunc(args as unknown as Parameters<tfjs.KernelFunc>[0]);
}

function sumKernel(args: KernelArgs, original: tfjs.KernelConfig | undefined): tfjs.Tensor | TensorInfo | TensorInfo[] {
  const native = nativeKernels(args.backend);
  const r = leadingReduction(args, native !== null);
  if (!r) return fallback('Sum', args, original);
  const { x, m, k, out, backend } = r;
  if (native) {
    sumBlocks(native, r);
    return out;
  }
  // Views after makeOutput (an allocation may replace the heap buffer).
  const X = backend.typedArrayFromHeap(x);
  const Y = backend.typedArrayFromHeap(out);
  // Column sums of X as [m, k], row by row (sequential reads), in float64 accumulators.
  const acc = new Float64Array(k);
  for (let row = 0, o = 0; row < m; row++, o += k) for (let j = 0; j < k; j++) acc[j]! += X[o + j]!;
  for (let j = 0; j < k; j++) Y[j] = acc[j]!;
  return out;
}

/** Mean over the leading axes (BatchNorm's batch statistics) or middle ones (a global average pool): our column sums, then / m. Else tfjs's. */
function meanKernel(args: KernelArgs, original: tfjs.KernelConfig | undefined): tfjs.Tensor | TensorInfo | TensorInfo[] {
  const native = nativeKernels(args.backend);
  const r = native ? leadingReduction(args, true) : null;
  if (!native || !r) return fallback('Mean', args, original);
  const { outer, m, k, out, backend } = r;
  sumBlocks(native, r);
  const Y = backend.typedArrayFromHeap(out);
  for (let j = 0; j < outer * k; j++) Y[j] = Y[j]! / m;
  return out;
}

/** FusedBatchNorm with per-channel statistics ([C] each, channels last): one pass in our module. Else tfjs's. */
function batchNormKernel(args: KernelArgs, original: tfjs.KernelConfig | undefined): tfjs.Tensor | TensorInfo | TensorInfo[] {
  const { x, mean, variance, offset, scale } = args.inputs;
  const native = nativeKernels(args.backend);
  const c = x?.shape.at(-1) ?? 0;
  const perChannel = (t: TensorInfo | undefined) => t == null || (t.dtype === 'float32' && t.shape.reduce((a, b) => a * b, 1) === c && (t.shape.length <= 1 || t.shape.slice(0, -1).every((d) => d === 1)));
  if (!x || !mean || !variance || !native || x.dtype !== 'float32' || c === 0 || x.shape.some((d) => d === 0) || ![mean, variance, offset, scale].every(perChannel)) {
    return fallback('FusedBatchNorm', args, original);
  }
  const backend = args.backend as WasmHeapBackend;
  const out = backend.makeOutput(x.shape, 'float32');
  const scratch = backend.makeOutput([2 * c], 'float32');
  const at = (t: TensorInfo | undefined) => (t ? heapOffset(backend, t.dataId) : 0);
  const rows = x.shape.reduce((a, b) => a * b, 1) / c;
  native.batchNorm(at(x), at(mean), at(variance), at(offset), at(scale), at(out), at(scratch), rows, c, Number(args.attrs?.varianceEpsilon ?? 1e-3));
  (backend as unknown as { disposeData(id: object): void }).disposeData(scratch.dataId);
  return out;
}

/**
 * Identity without a copy (tfjs's wasm kernel copies the whole tensor): the output shares the
 * input's buffer, reference-counted, as the cpu and webgl backends do. Safe because tfjs never
 * writes a tensor's buffer in place (Variable.assign swaps buffers).
 */
function identityKernel(args: KernelArgs, original: tfjs.KernelConfig | undefined): tfjs.Tensor | TensorInfo | TensorInfo[] {
  const x = args.inputs.x;
  if (!x) throw new Error('Identity: missing input x');
  if (x.dtype === 'string') {
    if (!original) throw new Error('Identity: no wasm kernel for string tensors');
    return original.kernelFunc(args as unknown as Parameters<tfjs.KernelFunc>[0]);
  }
  (args.backend as { incRef(dataId: unknown): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const registered = new Set<string>();
/** The tfjs kernels we replaced, kept for benchmarks and for `restoreOriginalKernel`. */
const replaced = new Map<string, tfjs.KernelConfig>();

/** Puts tfjs's own wasm kernel back in place of ours (benchmarks compare the two). */
export function restoreOriginalKernel(tf: Tf, name: SuppliedKernel): boolean {
  const original = replaced.get(name);
  if (!original) return false;
  tf.unregisterKernel(name, WASM);
  tf.registerKernel(original);
  // Its setup (cwrap of the C++ function) runs when a backend initialises; run it for the live one.
  if (tf.getBackend() === WASM) original.setupFunc?.(tf.backend());
  registered.delete(name);
  return true;
}

/**
 * Registers our kernels for the wasm backend. Idempotent. Call it after
 * '@tensorflow/tfjs-backend-wasm' is imported (its own registrations must come first, so that we
 * replace Conv2DBackpropInput rather than being replaced).
 */
export function registerWasmTrainingKernels(tf: Tf, only?: readonly SuppliedKernel[]): SuppliedKernel[] {
  const originalBatchMatMul = replaced.get('BatchMatMul') ?? tf.getKernel('BatchMatMul', WASM);
  const originalFusedMatMul = replaced.get('_FusedMatMul') ?? tf.getKernel('_FusedMatMul', WASM);
  const originalSum = replaced.get('Sum') ?? tf.getKernel('Sum', WASM);
  const originalGather = replaced.get('GatherV2') ?? tf.getKernel('GatherV2', WASM);
  const originalIdentity = replaced.get('Identity') ?? tf.getKernel('Identity', WASM);
  const originalMean = replaced.get('Mean') ?? tf.getKernel('Mean', WASM);
  const originalBatchNorm = replaced.get('FusedBatchNorm') ?? tf.getKernel('FusedBatchNorm', WASM);
  const originalAdd = replaced.get('Add') ?? tf.getKernel('Add', WASM);
  const impls: Record<SuppliedKernel, (args: KernelArgs) => tfjs.Tensor | TensorInfo | TensorInfo[]> = {
    Conv2DBackpropFilter: (args) => conv2dBackpropFilterKernel(tf, args),
    Conv2DBackpropInput: ({ inputs, attrs = {}, backend }) => conv2dBackpropInput(tf, asTensor(tf, inputs.dy, 'dy') as tfjs.Tensor4D, asTensor(tf, inputs.filter, 'filter') as tfjs.Tensor4D, attrs, backend),
    DepthwiseConv2dNativeBackpropFilter: ({ inputs, attrs = {} }) => depthwiseBackpropFilter(tf, asTensor(tf, inputs.x, 'x') as tfjs.Tensor4D, asTensor(tf, inputs.dy, 'dy') as tfjs.Tensor4D, attrs),
    DepthwiseConv2dNativeBackpropInput: ({ inputs, attrs = {} }) => depthwiseBackpropInput(tf, asTensor(tf, inputs.dy, 'dy') as tfjs.Tensor4D, asTensor(tf, inputs.filter, 'filter') as tfjs.Tensor4D, attrs),
    UnsortedSegmentSum: ({ inputs, attrs = {} }) => unsortedSegmentSum(tf, asTensor(tf, inputs.x, 'x'), asTensor(tf, inputs.segmentIds, 'segmentIds'), attrs.numSegments as number),
    BatchMatMul: (args) => batchMatMul(tf, args, originalBatchMatMul),
    _FusedMatMul: (args) => fusedMatMul(tf, args, originalFusedMatMul),
    GatherV2: (args) => gatherRows(args, originalGather),
    Sum: (args) => sumKernel(args, originalSum),
    Identity: (args) => identityKernel(args, originalIdentity),
    Mean: (args) => meanKernel(args, originalMean),
    FusedBatchNorm: (args) => batchNormKernel(args, originalBatchNorm),
    Add: (args) => biasAddKernel(args, originalAdd),
    MaxPoolGrad: ({ inputs, attrs = {}, backend }) => {
      if (!inputs.dy || !inputs.input) throw new Error('MaxPoolGrad: missing input dy or input');
      if (inputs.input.dtype !== 'float32' || inputs.dy.dtype !== 'float32') throw new Error('MaxPoolGrad: float32 tensors expected');
      return maxPoolGrad(tf, backend as WasmHeapBackend, inputs.dy, inputs.input, attrs);
    },
    ResizeNearestNeighborGrad: ({ inputs, attrs = {} }) => resizeNearestNeighborGrad(tf, asTensor(tf, inputs.images, 'images') as tfjs.Tensor4D, asTensor(tf, inputs.dy, 'dy') as tfjs.Tensor4D, attrs),
  };
  const done: SuppliedKernel[] = [];
  for (const { name } of SUPPLIED_KERNELS) {
    if (only && !only.includes(name)) continue;
    if (registered.has(name)) continue;
    const existing = tf.getKernel(name, WASM);
    if (existing) {
      if (!replaced.has(name)) replaced.set(name, existing);
      tf.unregisterKernel(name, WASM);
    }
    // Keep the replaced kernel's setup (it cwraps the C++ function that our fallback paths call).
    const setupFunc = replaced.get(name)?.setupFunc;
    tf.registerKernel({ kernelName: name, backendName: WASM, kernelFunc: impls[name] as unknown as tfjs.KernelFunc, ...(setupFunc ? { setupFunc } : {}) });
    // Setup functions run when a backend initialises; run them now if wasm already has.
    const live = (tf.engine() as unknown as { registry: Record<string, tfjs.KernelBackend | undefined> }).registry[WASM];
    if (setupFunc && live) setupFunc(live);
    registered.add(name);
    done.push(name);
  }
  return done;
}
