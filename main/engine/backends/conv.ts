/**
 * 3x3 stride-1 convolutions (Conv2D, FusedConv2D) by Winograd F(4x4, 3x3) (or F(2x2, 3x3)) on our wasm
 * module (native/conv.c), for the shapes where it measured faster than tfjs's XNNPACK kernel; every other
 * call goes to tfjs's own wasm kernel, kept from before we registered. Conv2DBackpropInput of a stride-1
 * conv (kernels.ts: a Conv2D of dy with the flipped filter) takes this path too.
 *
 * Per call: the filter transform U = G g G^T ([36 or 16][C][K], single-threaded, small), then the output
 * tiles split in two ranges, one on our helper thread and one here, each in cache-sized blocks
 * (input transform, 36 or 16 products [tiles, C]·[C, K], output transform + bias + relu / relu6).
 *
 * Convolutions Winograd does not take go, where gemmWins, to an im2col + GEMM path (conv_gemm_fwd: any
 * kernel size and stride; lenet5's 5x5 convs and their input gradients, resnet-small's stride-2 convs).
 * One-channel inputs (lenet5's first conv) go, where c1Wins, to a direct conv (conv_c1_fwd: vectors over
 * output columns, no im2col). For the inference plan: convMaxPool (a conv and the 2x2 max pool after it
 * in one pass) and convAddRelu (a ResNet block's conv, residual Add and ReLU in one pass).
 *
 * Conv2DBackpropInput (registered by kernels.ts) is wrapped here: where bpiWins (stride-1 filters larger
 * than 3x3 with small patches: lenet5's 5x5 convs), dx = dy·Wᵀ as a GEMM plus a col2im scatter
 * (conv_bpi), no multiply spent on padding; every other call goes to the kernel registered before.
 *
 * LAYERFORGE_CONV_DIRECT (default on; 0 gives the kernels before): unpadded convolutions with filters larger
 * than 3x3 that gemmWins gives the GEMM path run conv_igemm_fwd (x read in place, no patches, no filter
 * packing); one-channel convolutions run conv_c1q_fwd (4 rows x 2 channels per register block instead of
 * conv_c1_fwd's 1 row x 8); unpadded input gradients run conv_bpi_valid (tiles summed over every dy row that
 * reaches a dx row and added straight into dx: no scratch, no col2im pass).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { installConvFusedTraining } from './convFusedTraining';
import { WASM } from './kernels';
import { heapOffset, nativeKernels } from './native';
import { runClaimed, withClaimCounter, type HeapBackend } from './native/heap';

type TensorInfo = tfjs.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; attrs?: Record<string, unknown>; backend: unknown };

/** 'auto': ours where it measured faster; 'ours': wherever it applies; 'xnnpack': never (benchmarks and tests). */
export type ConvPath = 'auto' | 'ours' | 'xnnpack';
let path: ConvPath = process.env.LAYERFORGE_CONV === 'xnnpack' ? 'xnnpack' : process.env.LAYERFORGE_CONV === 'ours' ? 'ours' : 'auto';
export function setConvPath(p: ConvPath): void {
  path = p;
}

/**
 * F(4x4, 3x3) (default: 4x fewer multiplications than a direct conv, 1.05-1.6x less CPU time than F(2x2)
 * on every template shape; rounding ~5e-6 of the output's scale, F(2x2) ~1e-6, XNNPACK ~1e-6) or F(2x2, 3x3).
 */
export type WinogradTile = 2 | 4;
let tile: WinogradTile = process.env.LAYERFORGE_CONV_TILE === '2' ? 2 : 4;
export function setWinogradTile(t: WinogradTile): void {
  tile = t;
}

/** Tiles per block (0: the default). For tuning. */
let blockOverride = 0;
export function setConvTileBlock(tb: number): void {
  blockOverride = tb;
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

/** A 3x3 stride-1 shape our kernel handles at all (the caller's policy decides whether it should). */
export interface ConvShape {
  batch: number;
  outHeight: number;
  outWidth: number;
  inChannels: number;
  outChannels: number;
}

/**
 * Where ours measured faster than XNNPACK (see the figures in the backends README): every template shape
 * with 16+ input and output channels (1.5-2.2x less CPU time); an image's 3 input channels lose (0.63-0.89x).
 */
export function winogradWins(s: ConvShape): boolean {
  return s.inChannels >= 16 && s.outChannels >= 16;
}

/** F(2x2): 16 tiles (V and M, 16·16·(C+K) floats, stay in L1/L2 up to C+K = 256; 8-64 measured no better); F(4x4): 8. */
const TILE_BLOCK = 16;

let calls = 0;
/** How many convolutions ran on our kernel in this process (tests and benchmarks check the routing). */
export function winogradCalls(): number {
  return calls;
}

const one = (v: unknown): boolean => v === undefined || v === 1 || (Array.isArray(v) && v.every((e) => e === 1));

/**
 * A Conv2D / FusedConv2D call's operands: x and filter (float32, 4-D, filter [fh][fw][c][k] with x's c),
 * and for the fused kernel its activation (ACTIVATIONS' code) and bias ([k]); null where neither of our
 * paths can take it (an input missing or of another type, another activation, a bias of another shape).
 */
function convOperands(args: KernelArgs, fused: boolean) {
  const { x, filter } = args.inputs;
  if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  const [fh, fw, c, k] = filter.shape as [number, number, number, number];
  if (c !== x.shape[3]) return null;
  let act = 0;
  let bias: TensorInfo | undefined;
  if (fused) {
    const a = ACTIVATIONS[String(args.attrs?.activation ?? 'linear')];
    if (a === undefined) return null;
    act = a;
    bias = args.inputs.bias;
    if (bias && (bias.dtype !== 'float32' || bias.shape.reduce((p, d) => p * d, 1) !== k || bias.shape.at(-1) !== k)) return null;
  }
  return { x, filter, attrs: args.attrs ?? {}, fh, fw, c, k, act, bias };
}

/** Our convolution, or null when this call is not for us (then tfjs's kernel runs). */
function winogradConv(tf: Tf, args: KernelArgs, fused: boolean, pool = false, res: TensorInfo | null = null): TensorInfo | null {
  if (path === 'xnnpack' || ((pool || res) && tile !== 4)) return null;
  const ops = convOperands(args, fused);
  if (!ops) return null;
  const { x, filter, attrs, fh, fw, c, k, act, bias } = ops;
  if (fh !== 3 || fw !== 3 || k % 8 !== 0) return null;
  if (!one(attrs.strides) || !one(attrs.dilations) || (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')) return null;
  const native = nativeKernels(args.backend);
  if (!native?.has('conv_wino_fwd')) return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], 1, 1, attrs.pad as 'same', attrs.dimRoundingMode as 'round' | undefined, false, 'channelsLast');
  const [nb, h, w] = x.shape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow } = info;
  if (nb * oh * ow === 0 || (pool && (oh < 2 || ow < 2))) return null;
  if (res && (pool || res.dtype !== 'float32' || res.shape.length !== 4 || ![nb, oh, ow, k].every((d, i) => res.shape[i] === d))) return null;
  if (path === 'auto' && !winogradWins({ batch: nb, outHeight: oh, outWidth: ow, inChannels: c, outChannels: k })) return null;
  const backend = args.backend as HeapBackend;
  const f4 = tile === 4;
  const tiles = nb * Math.ceil(oh / tile) * Math.ceil(ow / tile);
  const tb = blockOverride > 0 ? blockOverride : f4 ? TILE_BLOCK / 2 : TILE_BLOCK;
  const e = f4 ? 36 : 16;
  const helper = native.helper?.ready && tiles >= 2 * tb ? native.helper : null;
  const c4 = Math.ceil(c / 4) * 4;
  const perThread = e * tb * (c4 + k);
  const y = backend.makeOutput(pool ? [nb, oh >> 1, ow >> 1, k] : [nb, oh, ow, k], 'float32');
  const u = backend.makeOutput([e * c4 * k], 'float32');
  const scratch = backend.makeOutput([(helper ? 2 : 1) * perThread], 'float32');
  try {
    const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
    native.fn(f4 ? 'conv_wino4_filter' : 'conv_wino_filter')(at(filter), at(u), c, k, c4);
    const common = [at(x), at(u), bias ? at(bias) : 0, at(y)] as const;
    const dims = [nb, h, w, c, oh, ow, k, info.padInfo.top, info.padInfo.left, act] as const;
    const name = f4 ? 'conv_wino4_fwd' : 'conv_wino_fwd';
    const fwd = native.fn(name);
    // conv_wino_fwd ignores the two arguments after tb (pool, res): F(2x2, 3x3) has neither.
    const tail = (next: number) => (f4 ? [pool ? 1 : 0, res ? at(res) : 0, next] : [next]);
    if (!helper) {
      fwd(...common, at(scratch), ...dims, 0, tiles, tb, ...tail(0));
    } else {
      // Both threads claim blocks of tb tiles from one counter (not fixed halves): a thread descheduled by
      // another process (the app's window while training) takes fewer blocks instead of making the other wait.
      withClaimCounter(backend, (next) => helper.alongside(name, [...common, at(scratch) + 4 * perThread, ...dims, 0, tiles, tb, ...tail(next)], () => fwd(...common, at(scratch), ...dims, 0, tiles, tb, ...tail(next))));
    }
    calls++;
  } catch (error) {
    backend.disposeData(y.dataId);
    throw error;
  } finally {
    backend.disposeData(u.dataId);
    backend.disposeData(scratch.dataId);
  }
  return y;
}

/**
 * The im2col + GEMM path (native/conv.c conv_gemm_fwd) for convolutions with few input channels, where
 * XNNPACK is slow: 'auto' where it measured faster (gemmWins), 'ours' wherever it applies (tests and
 * benchmarks), 'off' never (LAYERFORGE_CONV_GEMM=0).
 */
export type GemmConvMode = 'auto' | 'ours' | 'off';
let gemmMode: GemmConvMode = process.env.LAYERFORGE_CONV_GEMM === '0' ? 'off' : process.env.LAYERFORGE_CONV_GEMM === 'ours' ? 'ours' : 'auto';
export function setGemmConv(m: GemmConvMode): void {
  gemmMode = m;
}

/** A convolution's shape for the GEMM path's policy. */
export interface GemmConvShape {
  inChannels: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
}

/**
 * Where im2col + GEMM measured faster than XNNPACK (figures in the backends README): 4-16 input
 * channels, patches up to 512 values, up to 32 output channels (lenet5's 5x5 convs and their input
 * gradients, resnet-small's stride-2 3x3 and 1x1 convs: 1.3-1.8x less CPU time). An image's 1-3
 * channels measured even (XNNPACK keeps them); larger shapes were not measured.
 */
export function gemmWins(s: GemmConvShape): boolean {
  return s.inChannels >= 4 && s.inChannels <= 16 && s.inChannels * s.filterHeight * s.filterWidth <= 512 && s.outChannels <= 32;
}

/**
 * This session's direct kernels (native/conv.c): conv_igemm_fwd (unpadded convolutions multiply x's rows in
 * place, no patches gathered), conv_c1q_fwd (one-channel, 4 rows x 2 channels per register block) and
 * conv_bpi_valid (unpadded input gradients added straight into dx). 'auto': igemm where it measured faster
 * (see igemmConv), the other two wherever their path runs; 'ours': igemm wherever it applies; 'off': the
 * kernels before (conv_gemm_fwd, conv_c1_fwd, conv_bpi; LAYERFORGE_CONV_DIRECT=0).
 */
export type DirectConvMode = 'auto' | 'ours' | 'off';
let directMode: DirectConvMode = process.env.LAYERFORGE_CONV_DIRECT === '0' ? 'off' : process.env.LAYERFORGE_CONV_DIRECT === 'ours' ? 'ours' : 'auto';
export function setConvDirect(m: DirectConvMode): void {
  directMode = m;
}

let igemmCalls = 0;
/** How many convolutions ran on the implicit-GEMM path in this process. */
export function igemmConvCalls(): number {
  return igemmCalls;
}

/**
 * Our implicit-GEMM convolution (no padding, no dilation, K % 8 == 0), or null when this call is not for it.
 * 'auto' takes the shapes gemmWins gives the im2col path with filters larger than 3x3 (lenet5's 5x5 valid
 * 6->16: its patches, 150 floats per pixel, were a copy of x 25 times over); resnet-small's 1x1 stride-2
 * 16->32 measured inconclusive (0.9-1.2x) and stays on im2col.
 */
function igemmConv(tf: Tf, args: KernelArgs, fused: boolean): TensorInfo | null {
  if (path === 'xnnpack' || directMode === 'off') return null;
  const ops = convOperands(args, fused);
  if (!ops) return null;
  const { x, filter, attrs, fh, fw, c, k, act, bias } = ops;
  if (k % 8 !== 0 || !one(attrs.dilations) || (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')) return null;
  if (directMode === 'auto' && (gemmMode === 'off' || fh * fw <= 9 || !gemmWins({ inChannels: c, outChannels: k, filterHeight: fh, filterWidth: fw }))) return null;
  const native = nativeKernels(args.backend);
  if (!native?.has('conv_igemm_fwd')) return null;
  const [sh, sw] = pair(attrs.strides);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], [sh, sw], 1, attrs.pad as 'same', attrs.dimRoundingMode as 'round' | undefined, false, 'channelsLast');
  const { top, left, bottom, right } = info.padInfo;
  if (top !== 0 || left !== 0 || bottom !== 0 || right !== 0) return null;
  const [nb, h, w] = x.shape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow } = info;
  if (nb * oh * ow === 0 || fh * fw * c === 0) return null;
  const backend = args.backend as HeapBackend;
  const pixels = nb * oh * ow;
  const helper = native.helper?.ready && pixels >= 2 * PIXEL_BLOCK ? native.helper : null;
  const y = backend.makeOutput([nb, oh, ow, k], 'float32');
  try {
    const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
    const common = [at(x), at(filter), bias ? at(bias) : 0, at(y), nb, h, w, c, oh, ow, k, fh, fw, sh, sw, act] as const;
    if (!helper) native.fn('conv_igemm_fwd')(...common, 0, pixels, 0, 0);
    // Chunks of PIXEL_CHUNK pixels claimed by both threads (runClaimed), at least 8 per thread.
    else runClaimed(native, backend, 'conv_igemm_fwd', common, common, pixels, Math.max(4, Math.min(PIXEL_CHUNK, Math.floor(pixels / 64) * 4)));
    igemmCalls++;
  } catch (error) {
    backend.disposeData(y.dataId);
    throw error;
  }
  return y;
}

/** Output pixels per block: patches [64][fh·fw·C] and products [64][K8] stay in L1/L2 for the template shapes. */
const PIXEL_BLOCK = 64;
/** Pixels per chunk the two threads claim in turn in conv_igemm_fwd (a multiple of 4; ~10-20 µs of work for lenet5's conv). */
const PIXEL_CHUNK = 256;

let gemmCalls = 0;
/** How many convolutions ran on the GEMM path in this process. */
export function gemmConvCalls(): number {
  return gemmCalls;
}

const pair = (v: unknown): [number, number] => (typeof v === 'number' ? [v, v] : Array.isArray(v) ? [Number(v[0] ?? 1), Number(v[1] ?? v[0] ?? 1)] : [1, 1]);

/** Our im2col + GEMM convolution, or null when this call is not for it. */
function gemmConv(tf: Tf, args: KernelArgs, fused: boolean, pool = false): TensorInfo | null {
  if (path === 'xnnpack' || gemmMode === 'off') return null;
  const ops = convOperands(args, fused);
  if (!ops) return null;
  const { x, filter, attrs, fh, fw, c, k, act, bias } = ops;
  if (!one(attrs.dilations) || (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')) return null;
  if (gemmMode === 'auto' && !pool && !gemmWins({ inChannels: c, outChannels: k, filterHeight: fh, filterWidth: fw })) return null;
  const native = nativeKernels(args.backend);
  if (!native?.has('conv_gemm_fwd')) return null;
  const [sh, sw] = pair(attrs.strides);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], [sh, sw], 1, attrs.pad as 'same', attrs.dimRoundingMode as 'round' | undefined, false, 'channelsLast');
  const [nb, h, w] = x.shape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow } = info;
  if (nb * oh * ow === 0 || fh * fw * c === 0 || (pool && (oh < 2 || ow < 2))) return null;
  const backend = args.backend as HeapBackend;
  const kc = fh * fw * c;
  const k8 = Math.ceil(k / 8) * 8;
  const pixels = pool ? nb * (oh >> 1) * (ow >> 1) * 4 : nb * oh * ow;
  const pb = PIXEL_BLOCK;
  const helper = native.helper?.ready && pixels >= 2 * pb ? native.helper : null;
  const perThread = pb * (kc + k8);
  const y = backend.makeOutput(pool ? [nb, oh >> 1, ow >> 1, k] : [nb, oh, ow, k], 'float32');
  const packed = k8 !== k ? backend.makeOutput([kc * k8], 'float32') : null;
  const scratch = backend.makeOutput([(helper ? 2 : 1) * perThread], 'float32');
  try {
    const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
    if (packed) native.fn('conv_gemm_pack')(at(filter), at(packed), kc, k, k8);
    const common = [at(x), at(packed ?? filter), bias ? at(bias) : 0, at(y)] as const;
    const dims = [nb, h, w, c, oh, ow, k, fh, fw, sh, sw, info.padInfo.top, info.padInfo.left, act] as const;
    const fwd = native.fn('conv_gemm_fwd');
    if (!helper) {
      fwd(...common, at(scratch), ...dims, 0, pixels, pb, pool ? 1 : 0);
    } else {
      const half = Math.ceil(pixels / 2 / pb) * pb;
      helper.alongside('conv_gemm_fwd', [...common, at(scratch) + 4 * perThread, ...dims, half, pixels, pb, pool ? 1 : 0], () => fwd(...common, at(scratch), ...dims, 0, half, pb, pool ? 1 : 0));
    }
    gemmCalls++;
  } catch (error) {
    backend.disposeData(y.dataId);
    throw error;
  } finally {
    if (packed) backend.disposeData(packed.dataId);
    backend.disposeData(scratch.dataId);
  }
  return y;
}

/**
 * The direct path for one-channel inputs (native/conv.c conv_c1_fwd: vectors over 4 output columns,
 * taps as splats, up to 8 output channels per pass): 'auto' where it measured faster (c1Wins), 'ours'
 * wherever it applies, 'off' never (LAYERFORGE_CONV_C1=0).
 */
export type C1ConvMode = 'auto' | 'ours' | 'off';
let c1Mode: C1ConvMode = process.env.LAYERFORGE_CONV_C1 === '0' ? 'off' : process.env.LAYERFORGE_CONV_C1 === 'ours' ? 'ours' : 'auto';
export function setC1Conv(m: C1ConvMode): void {
  c1Mode = m;
}

/**
 * Where the one-channel direct conv measured faster than XNNPACK (figures in the backends README):
 * lenet5's 28x28x1 -> 6 5x5 conv, 1.3-3x less CPU time; up to 8 output channels (one pass over the
 * image). 16 and 32 outputs measured inconclusive on the loaded machine, so XNNPACK keeps them.
 */
export function c1Wins(s: GemmConvShape): boolean {
  return s.inChannels === 1 && s.outChannels <= 8 && s.filterHeight * s.filterWidth <= 49;
}

let c1Calls = 0;
/** How many convolutions ran on the one-channel direct path in this process. */
export function c1ConvCalls(): number {
  return c1Calls;
}

/** Output rows per thread at least this many before the helper takes half. */
const C1_MIN_ROWS = 8;

/** Our one-channel direct convolution (stride 1, no dilation), or null when this call is not for it. */
function c1Conv(tf: Tf, args: KernelArgs, fused: boolean): TensorInfo | null {
  if (path === 'xnnpack' || c1Mode === 'off') return null;
  const ops = convOperands(args, fused);
  if (!ops) return null;
  const { x, filter, attrs, fh, fw, c, k, act, bias } = ops;
  if (c !== 1 || !one(attrs.strides) || !one(attrs.dilations) || (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')) return null;
  if (c1Mode === 'auto' && !c1Wins({ inChannels: c, outChannels: k, filterHeight: fh, filterWidth: fw })) return null;
  const native = nativeKernels(args.backend);
  if (!native?.has('conv_c1_fwd')) return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], 1, 1, attrs.pad as 'same', attrs.dimRoundingMode as 'round' | undefined, false, 'channelsLast');
  const [nb, h, w] = x.shape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow } = info;
  if (nb * oh * ow * k === 0) return null;
  const backend = args.backend as HeapBackend;
  const rows = nb * oh;
  const pw = (Math.ceil(ow / 4) * 4 + fw - 1 + 3) & ~3;
  const perThread = (oh + fh - 1) * pw;
  const helper = native.helper?.ready && rows >= 2 * C1_MIN_ROWS ? native.helper : null;
  const y = backend.makeOutput([nb, oh, ow, k], 'float32');
  const scratch = backend.makeOutput([(helper ? 2 : 1) * perThread], 'float32');
  try {
    const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
    const common = [at(x), at(filter), bias ? at(bias) : 0, at(y)] as const;
    const dims = [nb, h, w, oh, ow, k, fh, fw, info.padInfo.top, info.padInfo.left, act] as const;
    // conv_c1q_fwd: 4 rows x 2 channels per register block (LAYERFORGE_CONV_DIRECT=0: conv_c1_fwd's 1 row x 8 channels).
    const name = directMode !== 'off' && native.has('conv_c1q_fwd') ? 'conv_c1q_fwd' : 'conv_c1_fwd';
    const fwd = native.fn(name);
    if (!helper) {
      fwd(...common, at(scratch), ...dims, 0, rows, 0, 0);
    } else if (name === 'conv_c1q_fwd' && nb > 1) {
      // Whole images claimed by both threads (runClaimed); each pads its image into its own scratch.
      runClaimed(native, backend, name, [...common, at(scratch) + 4 * perThread, ...dims], [...common, at(scratch), ...dims], rows, oh);
    } else {
      // Split at an image boundary where possible (each thread pads its images once).
      const half = nb > 1 ? Math.ceil(nb / 2) * oh : Math.ceil(rows / 2);
      helper.alongside(name, [...common, at(scratch) + 4 * perThread, ...dims, half, rows, 0, 0], () => fwd(...common, at(scratch), ...dims, 0, half, 0, 0));
    }
    c1Calls++;
  } catch (error) {
    backend.disposeData(y.dataId);
    throw error;
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return y;
}

/**
 * Conv2DBackpropInput as a GEMM and a col2im scatter (native/conv.c conv_bpi), for the shapes where the
 * conv of dy with the flipped filter (kernels.ts) spends many multiplies on padding: 'auto' where it
 * measured faster (bpiWins), 'ours' wherever it applies, 'off' never (LAYERFORGE_CONV_INPUT_GRAD=0).
 */
export type InputGradMode = 'auto' | 'ours' | 'off';
let bpiMode: InputGradMode = process.env.LAYERFORGE_CONV_INPUT_GRAD === '0' ? 'off' : process.env.LAYERFORGE_CONV_INPUT_GRAD === 'ours' ? 'ours' : 'auto';
export function setConvInputGrad(m: InputGradMode): void {
  bpiMode = m;
}

/** A Conv2DBackpropInput's shape for its policy: c the forward conv's input channels (dx's), k its outputs (dy's). */
export interface InputGradShape extends GemmConvShape {
  strideHeight: number;
  strideWidth: number;
}

/**
 * Where GEMM + col2im measured faster than the flipped conv (figures in the backends README): stride 1,
 * filters larger than 3x3 or few channels, patches up to 512 values (lenet5's 5x5 convs). 3x3 shapes
 * that Winograd takes stay with it.
 */
export function bpiWins(s: InputGradShape): boolean {
  if (s.strideHeight !== 1 || s.strideWidth !== 1) return false;
  const kc = s.inChannels * s.filterHeight * s.filterWidth;
  return kc <= 512 && s.outChannels <= 64 && s.filterHeight * s.filterWidth > 9;
}

/** dy pixels per block: C [32][kc8] stays in L1 for lenet5's shapes. */
const BPI_BLOCK = 32;

let bpiCalls = 0;
/** How many input gradients ran on the GEMM + col2im path in this process. */
export function inputGradCalls(): number {
  return bpiCalls;
}

/** Our Conv2DBackpropInput, or null when this call is not for it (then the kernel registered before ours runs). */
function bpiConv(tf: Tf, args: KernelArgs): TensorInfo | null {
  if (bpiMode === 'off') return null;
  const { dy, filter } = args.inputs;
  const attrs = args.attrs ?? {};
  if (!dy || !filter || dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.shape.length !== 4 || filter.shape.length !== 4) return null;
  const inputShape = attrs.inputShape as number[] | undefined;
  if (!inputShape || inputShape.length !== 4) return null;
  if (!one(attrs.dilations) || (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')) return null;
  const [fh, fw, c, k] = filter.shape as [number, number, number, number];
  const [nb, h, w, ci] = inputShape as [number, number, number, number];
  if (ci !== c || dy.shape[3] !== k || dy.shape[0] !== nb) return null;
  const [sh, sw] = pair(attrs.strides);
  if (bpiMode === 'auto' && !bpiWins({ inChannels: c, outChannels: k, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw })) return null;
  const native = nativeKernels(args.backend);
  if (!native?.has('conv_bpi')) return null;
  const info = tf.backend_util.computeConv2DInfo(inputShape as [number, number, number, number], filter.shape as [number, number, number, number], [sh, sw], 1, attrs.pad as 'same', attrs.dimRoundingMode as 'round' | undefined, false, 'channelsLast');
  const { outHeight: oh, outWidth: ow } = info;
  if (dy.shape[1] !== oh || dy.shape[2] !== ow || nb * h * w * c === 0) return null;
  const backend = args.backend as HeapBackend;
  const { top, left, bottom, right } = info.padInfo;
  if (directMode !== 'off' && top === 0 && left === 0 && bottom === 0 && right === 0 && native.has('conv_bpi_valid')) return bpiValid(native, backend, dy, filter, [nb, h, w, c, oh, ow, k, fh, fw, sh, sw]);
  const kc = fh * fw * c;
  const kc8 = Math.ceil(kc / 8) * 8;
  const pb = BPI_BLOCK;
  const helper = native.helper?.ready && nb >= 2 && k > 0 ? native.helper : null;
  const perThread = pb * kc8 + 4 * k;
  const dx = backend.makeOutput([nb, h, w, c], 'float32');
  const wt = backend.makeOutput([Math.max(1, k) * kc8], 'float32');
  const scratch = backend.makeOutput([(helper ? 2 : 1) * perThread], 'float32');
  try {
    const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
    native.fn('conv_bpi_pack')(at(filter), at(wt), kc, k, kc8);
    const dims = [nb, h, w, c, oh, ow, k, fh, fw, sh, sw, info.padInfo.top, info.padInfo.left] as const;
    const run = native.fn('conv_bpi');
    if (!helper) {
      run(at(dy), at(wt), at(dx), at(scratch), ...dims, 0, nb, pb);
    } else {
      const half = Math.ceil(nb / 2);
      helper.alongside('conv_bpi', [at(dy), at(wt), at(dx), at(scratch) + 4 * perThread, ...dims, half, nb, pb], () => run(at(dy), at(wt), at(dx), at(scratch), ...dims, 0, half, pb));
    }
    bpiCalls++;
  } catch (error) {
    backend.disposeData(dx.dataId);
    throw error;
  } finally {
    backend.disposeData(wt.dataId);
    backend.disposeData(scratch.dataId);
  }
  return dx;
}

/**
 * conv_bpi_valid: Conv2DBackpropInput of an unpadded convolution with each GEMM tile added straight into dx
 * (no scratch C, no col2im pass); images split over two threads. Off with LAYERFORGE_CONV_DIRECT=0.
 */
function bpiValid(native: NonNullable<ReturnType<typeof nativeKernels>>, backend: HeapBackend, dy: TensorInfo, filter: TensorInfo, dims: readonly [number, number, number, number, number, number, number, number, number, number, number]): TensorInfo {
  const [nb, h, w, c, , , k, fh, fw] = dims;
  const fc8 = Math.ceil((fw * c) / 8) * 8;
  const helper = native.helper?.ready && nb >= 2 && k > 0 ? native.helper : null;
  const dx = backend.makeOutput([nb, h, w, c], 'float32');
  const wt = backend.makeOutput([Math.max(1, k) * fh * fc8], 'float32');
  try {
    const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
    native.fn('conv_bpi_pack2')(at(filter), at(wt), k, fh, fw * c);
    const args = [at(dy), at(wt), at(dx), ...dims];
    // One image at a time claimed by both threads (runClaimed); each zeroes and fills whole images of dx.
    if (!helper) native.fn('conv_bpi_valid')(...args, 0, nb, 0, 0);
    else runClaimed(native, backend, 'conv_bpi_valid', args, args, nb, 1);
    bpiCalls++;
    bpiValidCalls++;
  } catch (error) {
    backend.disposeData(dx.dataId);
    throw error;
  } finally {
    backend.disposeData(wt.dataId);
  }
  return dx;
}

let bpiValidCalls = 0;
/** How many input gradients ran on conv_bpi_valid (unpadded convolutions, tiles added straight into dx). */
export function inputGradValidCalls(): number {
  return bpiValidCalls;
}

/**
 * A convolution followed by a 2x2 max pool (stride 2, valid) in one pass (the inference plan's
 * Conv2D + MaxPooling2D): the pool is taken in the convolution's output loop (Winograd: each 4x4 tile
 * gives 2x2 pooled outputs; GEMM: pixels taken window by window), bias and activation after the max
 * (the same values: both are monotone), so the full-size output is never written. Off with
 * LAYERFORGE_CONV_POOL=0 (or LAYERFORGE_CONV=xnnpack, LAYERFORGE_CONV_GEMM=0).
 */
export const CONV_MAX_POOL_KERNEL = 'LayerforgeConvMaxPool';
let poolFusion = process.env.LAYERFORGE_CONV_POOL !== '0';
export function setConvPoolFusion(on: boolean): void {
  poolFusion = on;
}

export interface ConvMaxPoolArgs {
  x: tfjs.Tensor4D;
  filter: tfjs.Tensor4D;
  bias?: tfjs.Tensor;
  strides: [number, number];
  pad: 'same' | 'valid';
  activation: string;
}

/** maxPool(conv(x) + bias, activation), 2x2 / 2 / valid, as one pass on wasm with our module; null where it does not apply (the caller runs the two ops). */
export function convMaxPool(tf: Tf, a: ConvMaxPoolArgs): tfjs.Tensor4D | null {
  if (!poolFusion || path === 'xnnpack' || gemmMode === 'off' || tf.getBackend() !== WASM) return null;
  if (a.x.dtype !== 'float32' || a.filter.dtype !== 'float32' || (a.bias && a.bias.dtype !== 'float32') || a.x.shape[3] !== a.filter.shape[2]) return null;
  if (ACTIVATIONS[a.activation] === undefined || !nativeKernels(tf.backend())?.has('conv_gemm_fwd') || !originals.has(tf)) return null;
  const info = tf.backend_util.computeConv2DInfo(a.x.shape, a.filter.shape, a.strides, 1, a.pad, undefined, false, 'channelsLast');
  if (info.outHeight < 2 || info.outWidth < 2 || a.x.shape[0] === 0) return null;
  // Winograd where it takes the conv, else the GEMM path within the patch sizes it was measured on.
  const [fh, fw, c, k] = a.filter.shape;
  const wino = tile === 4 && fh === 3 && fw === 3 && a.strides[0] === 1 && a.strides[1] === 1 && k % 8 === 0 && (path === 'ours' || winogradWins({ batch: a.x.shape[0], outHeight: info.outHeight, outWidth: info.outWidth, inChannels: c, outChannels: k }));
  if (!wino && fh * fw * c > 512) return null;
  return runOnePass(tf, CONV_MAX_POOL_KERNEL, (ka) => winogradConv(tf, ka, true, true) ?? gemmConv(tf, ka, true, true), { x: a.x, filter: a.filter, bias: a.bias }, { strides: a.strides, pad: a.pad, activation: a.activation });
}

/**
 * relu(conv(x) + bias + residual) in one pass (the inference plan's ResNet block: a 3x3 stride-1 conv with
 * its BatchNormalization folded, the residual Add and its ReLU): the residual is added in Winograd
 * F(4x4)'s output loop, so the conv's output is written once and not read again. Off with
 * LAYERFORGE_CONV_RESIDUAL=0 (or LAYERFORGE_CONV=xnnpack).
 */
export const CONV_ADD_RELU_KERNEL = 'LayerforgeConvAddRelu';
let residualFusion = process.env.LAYERFORGE_CONV_RESIDUAL !== '0';
export function setConvResidualFusion(on: boolean): void {
  residualFusion = on;
}

/** relu(conv(x) + bias + residual) on wasm with our module where Winograd takes the conv (3x3, stride 1, 16+ channels); null elsewhere (the caller runs the ops). */
export function convAddRelu(tf: Tf, a: Omit<ConvMaxPoolArgs, 'activation'> & { residual: tfjs.Tensor }): tfjs.Tensor4D | null {
  if (!residualFusion || path === 'xnnpack' || tile !== 4 || tf.getBackend() !== WASM || !originals.has(tf)) return null;
  const [fh, fw, c, k] = a.filter.shape;
  if (a.x.dtype !== 'float32' || a.filter.dtype !== 'float32' || (a.bias && a.bias.dtype !== 'float32') || a.residual.dtype !== 'float32') return null;
  if (fh !== 3 || fw !== 3 || a.strides[0] !== 1 || a.strides[1] !== 1 || a.x.shape[3] !== c || k % 8 !== 0) return null;
  if (!nativeKernels(tf.backend())?.has('conv_wino4_fwd')) return null;
  const info = tf.backend_util.computeConv2DInfo(a.x.shape, a.filter.shape, 1, 1, a.pad, undefined, false, 'channelsLast');
  const [nb] = a.x.shape;
  if (nb === 0 || ![nb, info.outHeight, info.outWidth, k].every((d, i) => a.residual.shape[i] === d)) return null;
  if (path === 'auto' && !winogradWins({ batch: nb, outHeight: info.outHeight, outWidth: info.outWidth, inChannels: c, outChannels: k })) return null;
  return runOnePass(tf, CONV_ADD_RELU_KERNEL, (ka) => winogradConv(tf, ka, true, false, ka.inputs.residual ?? null), { x: a.x, filter: a.filter, residual: a.residual, bias: a.bias }, { strides: [1, 1], pad: a.pad, activation: 'relu' });
}

/**
 * Runs one of our one-pass kernels (convMaxPool's, convAddRelu's) on the inputs given (an undefined
 * bias left out), NHWC without dilation; registers it for wasm on first use with body as its kernel
 * (body: our output, null where no path of ours applies, then an error: the caller checked first).
 */
function runOnePass(tf: Tf, kernelName: string, body: (ka: KernelArgs) => TensorInfo | null, given: Record<string, tfjs.Tensor | undefined>, attrs: Record<string, unknown>): tfjs.Tensor4D {
  if (!tf.getKernel(kernelName, WASM)) {
    tf.registerKernel({
      kernelName,
      backendName: WASM,
      kernelFunc: (args) => {
        const ka = args as unknown as KernelArgs;
        const y = body(ka);
        if (!y) throw new Error(`${kernelName}: no path for ${JSON.stringify(ka.inputs.x?.shape)} * ${JSON.stringify(ka.inputs.filter?.shape)}`);
        return y;
      },
    });
  }
  const inputs: Record<string, tfjs.Tensor> = {};
  for (const [name, t] of Object.entries(given)) if (t) inputs[name] = t;
  return tf.engine().runKernel(kernelName, inputs, { ...attrs, dilations: [1, 1], dataFormat: 'NHWC' } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor4D;
}

const originals = new WeakMap<object, Map<string, tfjs.KernelConfig>>();

/** tfjs's own wasm kernel that ours replaced (benchmarks time it directly). */
export function originalConvKernel(tf: Tf, name: 'Conv2D' | 'FusedConv2D'): tfjs.KernelConfig | undefined {
  return originals.get(tf)?.get(name);
}

/**
 * Registers Conv2D and FusedConv2D for wasm (ours where it wins, tfjs's otherwise), and wraps the
 * Conv2DBackpropInput registered before (kernels.ts's) with our GEMM + col2im path; idempotent per tf instance.
 */
export function registerConvKernels(tf: Tf): void {
  let kept = originals.get(tf);
  if (kept) return;
  kept = new Map();
  for (const name of ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput'] as const) {
    const original = tf.getKernel(name, WASM);
    if (!original) continue;
    kept.set(name, original);
  }
  originals.set(tf, kept);
  installConvFusedTraining(tf);
  for (const [name, original] of kept) {
    const fused = name === 'FusedConv2D';
    const ours = name === 'Conv2DBackpropInput'
      ? (args: KernelArgs) => bpiConv(tf, args)
      : (args: KernelArgs) => winogradConv(tf, args, fused) ?? c1Conv(tf, args, fused) ?? igemmConv(tf, args, fused) ?? gemmConv(tf, args, fused);
    tf.unregisterKernel(name, WASM);
    tf.registerKernel({
      kernelName: name,
      backendName: WASM,
      kernelFunc: (args) => ours(args as unknown as KernelArgs) ?? original.kernelFunc(args),
      ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
    });
    // Setup functions run when a backend initialises; run it now if wasm already has.
    const live = (tf.engine() as unknown as { registry: Record<string, tfjs.KernelBackend | undefined> }).registry[WASM];
    if (original.setupFunc && live) original.setupFunc(live);
  }
}
