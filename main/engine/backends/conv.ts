/**
 * 3x3 stride-1 convolutions (Conv2D, FusedConv2D) by Winograd F(4x4, 3x3) (or F(2x2, 3x3)) on our wasm
 * module (native/conv.c), for the shapes where it measured faster than tfjs's XNNPACK kernel; every other
 * call goes to tfjs's own wasm kernel, kept from before we registered. Conv2DBackpropInput of a stride-1
 * conv (kernels.ts: a Conv2D of dy with the flipped filter) takes this path too.
 *
 * Per call: the filter transform U = G g G^T ([36 or 16][C][K], single-threaded, small), then the output
 * tiles split in two ranges, one on our helper thread and one here, each in cache-sized blocks
 * (input transform, 36 or 16 products [tiles, C]·[C, K], output transform + bias + relu / relu6).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { WASM } from './kernels';
import { heapOffset, nativeKernels } from './native';

type TensorInfo = tfjs.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; attrs?: Record<string, unknown>; backend: unknown };
interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object): void;
}

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

/** Our convolution, or null when this call is not for us (then tfjs's kernel runs). */
function winogradConv(tf: Tf, args: KernelArgs, fused: boolean): TensorInfo | null {
  if (path === 'xnnpack') return null;
  const { x, filter } = args.inputs;
  const attrs = args.attrs ?? {};
  if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  const [fh, fw, c, k] = filter.shape as [number, number, number, number];
  if (fh !== 3 || fw !== 3 || c !== x.shape[3] || k % 8 !== 0) return null;
  if (!one(attrs.strides) || !one(attrs.dilations) || (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')) return null;
  let act = 0;
  let bias: TensorInfo | undefined;
  if (fused) {
    const a = ACTIVATIONS[String(attrs.activation ?? 'linear')];
    if (a === undefined) return null;
    act = a;
    bias = args.inputs.bias;
    if (bias && (bias.dtype !== 'float32' || bias.shape.reduce((p, d) => p * d, 1) !== k || bias.shape.at(-1) !== k)) return null;
  }
  const native = nativeKernels(args.backend);
  if (!native?.has('conv_wino_fwd')) return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], 1, 1, attrs.pad as 'same', attrs.dimRoundingMode as 'round' | undefined, false, 'channelsLast');
  const [nb, h, w] = x.shape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow } = info;
  if (nb * oh * ow === 0) return null;
  if (path === 'auto' && !winogradWins({ batch: nb, outHeight: oh, outWidth: ow, inChannels: c, outChannels: k })) return null;
  const backend = args.backend as HeapBackend;
  const f4 = tile === 4;
  const tiles = nb * Math.ceil(oh / tile) * Math.ceil(ow / tile);
  const tb = blockOverride > 0 ? blockOverride : f4 ? TILE_BLOCK / 2 : TILE_BLOCK;
  const e = f4 ? 36 : 16;
  const helper = native.helper?.ready && tiles >= 2 * tb ? native.helper : null;
  const c4 = Math.ceil(c / 4) * 4;
  const perThread = e * tb * (c4 + k);
  const y = backend.makeOutput([nb, oh, ow, k], 'float32');
  const u = backend.makeOutput([e * c4 * k], 'float32');
  const scratch = backend.makeOutput([(helper ? 2 : 1) * perThread], 'float32');
  try {
    const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
    native.fn(f4 ? 'conv_wino4_filter' : 'conv_wino_filter')(at(filter), at(u), c, k, c4);
    const common = [at(x), at(u), bias ? at(bias) : 0, at(y)] as const;
    const dims = [nb, h, w, c, oh, ow, k, info.padInfo.top, info.padInfo.left, act] as const;
    const name = f4 ? 'conv_wino4_fwd' : 'conv_wino_fwd';
    const fwd = native.fn(name);
    if (!helper) {
      fwd(...common, at(scratch), ...dims, 0, tiles, tb);
    } else {
      const half = Math.ceil(tiles / 2 / tb) * tb;
      helper.alongside(name, [...common, at(scratch) + 4 * perThread, ...dims, half, tiles, tb], () => fwd(...common, at(scratch), ...dims, 0, half, tb));
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

const originals = new WeakMap<object, Map<string, tfjs.KernelConfig>>();

/** tfjs's own wasm kernel that ours replaced (benchmarks time it directly). */
export function originalConvKernel(tf: Tf, name: 'Conv2D' | 'FusedConv2D'): tfjs.KernelConfig | undefined {
  return originals.get(tf)?.get(name);
}

/** Registers Conv2D and FusedConv2D for wasm (ours where it wins, tfjs's otherwise); idempotent per tf instance. */
export function registerConvKernels(tf: Tf): void {
  let kept = originals.get(tf);
  if (kept) return;
  kept = new Map();
  for (const name of ['Conv2D', 'FusedConv2D'] as const) {
    const original = tf.getKernel(name, WASM);
    if (!original) continue;
    kept.set(name, original);
  }
  originals.set(tf, kept);
  for (const [name, original] of kept) {
    const fused = name === 'FusedConv2D';
    tf.unregisterKernel(name, WASM);
    tf.registerKernel({
      kernelName: name,
      backendName: WASM,
      kernelFunc: (args) => winogradConv(tf, args as unknown as KernelArgs, fused) ?? original.kernelFunc(args),
      ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
    });
    // Setup functions run when a backend initialises; run it now if wasm already has.
    const live = (tf.engine() as unknown as { registry: Record<string, tfjs.KernelBackend | undefined> }).registry[WASM];
    if (original.setupFunc && live) original.setupFunc(live);
  }
}
