/**
 * The filter gradient of a 2-D convolution (Conv2DBackpropFilter, dW) on our wasm module
 * (native/convGrad.c), as blocked GEMMs whose reduction runs over output positions, split over two
 * threads that take blocks of positions from a shared counter (each accumulates its own partial dW; the
 * two are summed at the end):
 *
 * - `wino`: Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions: dW = Gᵀ [Σ_tiles (Bᵀ d B) ⊙ (A dy Aᵀ)] G,
 *   36 products [C x tiles]·[tiles x K] per block of tiles, one filter-side transform at the end.
 * - `im2col`: any filter, stride, dilation and padding: patches packed per block of positions, then
 *   dW += patchesᵀ·dy (a 1x1 stride-1 unpadded conv reads x in place).
 *   Any K: a K that is not a multiple of 8 is padded to 8 in the accumulator and each block's dy copy.
 * - `small`: fewer than 8 input channels, stride 1: per image x and dy are made channel-planar (x zero-padded)
 *   and each (channel, filter row, 2-3 output channels, up to 5 taps) block of dW accumulates 4 output
 *   columns per SIMD step, the lanes summed at the end (cg_small_acc / cg_small_finish).
 *   At most 8 accumulators per register block (LAYERFORGE_CONV_GRAD_TIGHT=0: the blocks before, up to 10).
 * - `igemm`: fewer than 8 input channels, no padding, K % 8 == 0 (lenet5's 5x5 valid 6->16): x read in place,
 *   4 consecutive values of a filter row's patch x 8 output channels per register tile (cg_igemm_acc).
 * - `direct`: the older direct accumulation in native/kernels.c (`conv2d_filter_grad`), taken by
 *   kernels.ts when this module returns null (few channels where `small` does not win, output channels not a
 *   multiple of 8 from 8 input channels, LAYERFORGE_CONV_GRAD=direct).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, type NativeKernels } from './native';
import type { HeapBackend } from './native/heap';

type TensorInfo = tfjs.TensorInfo;
type Conv2DInfo = ReturnType<Tf['backend_util']['computeConv2DInfo']>;

/** 'auto': the fastest measured per shape; 'wino' / 'im2col' / 'small': wherever they apply; 'direct': never ours (kernels.c's). */
export type ConvGradPath = 'auto' | 'wino' | 'im2col' | 'small' | 'igemm' | 'direct';
const fromEnv = (v: string | undefined): ConvGradPath => (v === 'direct' || v === 'wino' || v === 'im2col' || v === 'small' || v === 'igemm' ? v : 'auto');
let path: ConvGradPath = fromEnv(process.env.LAYERFORGE_CONV_GRAD);
export function setConvGradPath(p: ConvGradPath): void {
  path = p;
}
export function convGradPath(): ConvGradPath {
  return path;
}

/** Tiles (wino) / positions (im2col) per block; 0: the defaults. For tuning. */
let blockOverride = 0;
export function setConvGradBlock(n: number): void {
  blockOverride = n;
}
/**
 * wino: 36·tb·(C + K) floats of transforms per thread stay in cache: 16 tiles up to C + K = 128, else 32
 * (single-threaded CPU time, 16 vs 32: 32->32 12.5 vs 13.5 ms, 128->128 11-12 vs 10.5; the rest within noise).
 */
const winoBlock = (c4: number, k: number): number => (c4 + k > 128 ? 32 : 16);
/** im2col: pb·fh·fw·C floats of patches per thread. */
const IM2COL_BLOCK = 128;

/** The largest C·K (C rounded up to 4) for Winograd. */
const WINO_MAX_CK = 256 * 256;

const counts = { wino: 0, im2col: 0, small: 0, igemm: 0 };
/** How many filter gradients ran each way in this process (tests check the routing). */
export function convGradCalls(): Readonly<typeof counts> {
  return { ...counts };
}

export type ConvGradMethod = 'wino' | 'im2col' | 'small' | 'igemm';

/**
 * 'small' (cg_small_acc: lanes over output columns, no im2col, no padding of K or taps) for an image's few
 * channels where kernels.c's direct kernel is weak: one input channel (it cannot pair channels) or fewer than
 * 16 output channels (its 16-wide register block does not apply; lenet5's 5x5 1->6). Measured (CPU time,
 * alternating): 5x5 1->6 2.6-3.4x, 3x3 3->8 2.3x, 3x3 1->16 1.5x, 5x5 1->20 1.26x less; direct stays for
 * 3x3 3->24 (small 0.92x), 3->32 (0.96-1.16x, noise) and 5x5 6->16 (0.6x).
 * LAYERFORGE_CONV_GRAD_SMALL=0: kernels.c's direct kernel for all of these, as before.
 */
let smallOn = process.env.LAYERFORGE_CONV_GRAD_SMALL !== '0';
/** 'auto' takes 'small' only while one image's planar copies stay in L2 (measured up to 32x32 images; larger ones unmeasured). */
const SMALL_AUTO_MAX_FLOATS = 65536;
/** Per thread: the padded planar image c·(oh + fh - 1)·(ow4 + fw - 1) plus the planar dy k·oh·ow4. */
function smallScratchFloats(info: Conv2DInfo): number {
  const ow4 = Math.ceil(info.outWidth / 4) * 4;
  return info.inChannels * (info.outHeight + info.filterHeight - 1) * (ow4 + info.filterWidth - 1) + info.outChannels * info.outHeight * ow4;
}
export function setConvGradSmall(on: boolean): void {
  smallOn = on;
}
/**
 * cg_small_acc's register blocks: at most 8 accumulators (taps in blocks of 3, then 2 output channels per
 * block of 3 taps, 4 per block of 1-2), where V8 keeps every accumulator in a register; 9-10 accumulators
 * (the blocks before: up to 5 taps x 2 channels) were spilled to memory at every step. lenet5's 5x5 1->6:
 * 1.5x less CPU. LAYERFORGE_CONV_GRAD_TIGHT=0: the blocks before.
 */
let smallTight = process.env.LAYERFORGE_CONV_GRAD_TIGHT === '0' ? 0 : 2;
export function setConvGradTight(on: boolean): void {
  smallTight = on ? 2 : 0;
}

/**
 * 'igemm' (cg_igemm_acc: x read in place, a 4x8 register tile over 4 consecutive patch values of a filter row
 * and 8 output channels, no patches packed) for fewer than 8 input channels without padding or dilation, K % 8 == 0
 * (lenet5's 5x5 valid 6->16, where kernels.c's direct kernel ran). LAYERFORGE_CONV_GRAD_IGEMM=0: the direct kernel.
 */
let igemmOn = process.env.LAYERFORGE_CONV_GRAD_IGEMM !== '0';
export function setConvGradIgemm(on: boolean): void {
  igemmOn = on;
}

/** Which of ours applies to this convolution and, on 'auto', measured faster than the others; null: kernels.c's direct one. */
export function convGradMethod(info: Conv2DInfo): ConvGradMethod | null {
  if (path === 'direct' || info.dataFormat !== 'channelsLast') return null;
  const k = info.outChannels, c = info.inChannels;
  const unit = info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;
  const wino = k % 8 === 0 && info.filterHeight === 3 && info.filterWidth === 3 && unit;
  // Winograd's per-thread accumulator is 36·C·K floats (4x dW): above 256x256 channels (9.4 MB each) im2col's.
  const winoFits = Math.ceil(c / 4) * 4 * k <= WINO_MAX_CK;
  // Few channels: lanes over output columns (stride 1, no dilation).
  const small = c < 8 && unit;
  const igemm = c < 8 && k % 8 === 0 && info.padInfo.top === 0 && info.padInfo.left === 0 && info.dilationHeight === 1 && info.dilationWidth === 1 && info.filterWidth * c >= 4;
  if (path === 'igemm') return igemm ? 'igemm' : null;
  if (path === 'wino') return wino && winoFits ? 'wino' : null;
  // im2col takes any K (padded to 8 in its accumulator).
  if (path === 'im2col') return 'im2col';
  if (path === 'small') return small ? 'small' : null;
  // An image's 1-7 input channels: kernels.c's direct accumulation measured as fast or faster than im2col and
  // Winograd (C = 3: im2col 0.72-0.98x, Winograd 0.75-0.83x of its CPU time), except where 'small' wins (above).
  if (c < 8) {
    if (smallOn && small && (c === 1 || k < 16) && smallScratchFloats(info) <= SMALL_AUTO_MAX_FLOATS) return 'small';
    return igemmOn && igemm && c >= 4 ? 'igemm' : null;
  }
  if (k % 8 !== 0) return null;
  return wino && winoFits ? 'wino' : 'im2col';
}

/** dW [fh, fw, C, K] of this convolution on our module, or null when none of ours applies (the caller runs the direct kernel). */
export function nativeFilterGrad(native: NativeKernels, backend: HeapBackend, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo | null {
  if (!native.has('cg_wino4_acc')) return null;
  const method = convGradMethod(info);
  if (!method) return null;
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: k, filterHeight: fh, filterWidth: fw } = info;
  const out = backend.makeOutput([fh, fw, c, k], 'float32');
  if (nb * oh * ow === 0) {
    backend.typedArrayFromHeap(out).fill(0);
    return out;
  }
  const buffers: TensorInfo[] = [];
  const buffer = (floats: number): number => {
    const t = backend.makeOutput([floats], 'float32');
    buffers.push(t);
    return heapOffset(backend, t.dataId);
  };
  // Two threads take blocks from one shared counter (an int32 on the heap, zeroed after the last
  // allocation), so a thread that runs late on a loaded machine does less of the work.
  const counter = (): number => {
    const at = buffer(1);
    backend.typedArrayFromHeap(buffers.at(-1)!).fill(0);
    return at;
  };
  try {
    const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
    const pad = [info.padInfo.top, info.padInfo.left] as const;
    if (method === 'small') {
      const helper = native.helper?.ready && nb >= 2 ? native.helper : null;
      const accFloats = 4 * fh * fw * c * k, scratchFloats = smallScratchFloats(info);
      const acc0 = buffer(accFloats), s0 = buffer(scratchFloats);
      const acc1 = helper ? buffer(accFloats) : 0, s1 = helper ? buffer(scratchFloats) : 0;
      const accumulate = native.fn('cg_small_acc');
      const dims = [nb, h, w, c, oh, ow, k, fh, fw, ...pad] as const;
      const [xo, dyo, dwo] = [at(x), at(dy), at(out)];
      if (!helper) {
        accumulate(xo, dyo, acc0, s0, ...dims, 0, nb, 1, 0, smallTight);
      } else {
        const next = counter();
        helper.alongside('cg_small_acc', [xo, dyo, acc1, s1, ...dims, 0, nb, 1, next, smallTight], () => accumulate(xo, dyo, acc0, s0, ...dims, 0, nb, 1, next, smallTight));
      }
      native.fn('cg_small_finish')(acc0, acc1, dwo, c, k, fh, fw, 0, c);
      counts.small++;
    } else if (method === 'igemm') {
      const helper = native.helper?.ready && nb >= 2 ? native.helper : null;
      const accFloats = fh * Math.ceil((fw * c) / 4) * 4 * k;
      const acc0 = buffer(accFloats), acc1 = helper ? buffer(accFloats) : 0;
      const accumulate = native.fn('cg_igemm_acc');
      const dims = [nb, h, w, c, oh, ow, k, fh, fw, info.strideHeight, info.strideWidth] as const;
      const [xo, dyo, dwo] = [at(x), at(dy), at(out)];
      if (!helper) {
        accumulate(xo, dyo, acc0, ...dims, 0, nb, 1, 0);
      } else {
        const next = counter();
        helper.alongside('cg_igemm_acc', [xo, dyo, acc1, ...dims, 0, nb, 1, next], () => accumulate(xo, dyo, acc0, ...dims, 0, nb, 1, next));
      }
      native.fn('cg_igemm_finish')(acc0, acc1, dwo, c, k, fh, fw);
      counts.igemm++;
    } else if (method === 'wino') {
      const tiles = nb * Math.ceil(oh / 4) * Math.ceil(ow / 4);
      const c4 = Math.ceil(c / 4) * 4;
      const tb = blockOverride > 0 ? blockOverride : winoBlock(c4, k);
      const helper = native.helper?.ready && tiles >= 2 * tb ? native.helper : null;
      // 36 planes each, every plane padded by one cache line (native/convGrad.c).
      const accFloats = 36 * (c4 * k + 16), scratchFloats = 36 * (tb * (c4 + k) + 32);
      const acc0 = buffer(accFloats), s0 = buffer(scratchFloats);
      const acc1 = helper ? buffer(accFloats) : 0, s1 = helper ? buffer(scratchFloats) : 0;
      const accumulate = native.fn('cg_wino4_acc');
      const dims = [nb, h, w, c, oh, ow, k, ...pad] as const;
      const [xo, dyo, dwo] = [at(x), at(dy), at(out)];
      if (!helper) {
        accumulate(xo, dyo, acc0, s0, ...dims, 0, tiles, tb, 1, 0);
        native.fn('cg_wino4_finish')(acc0, 0, dwo, c, k, 0, c);
      } else {
        const next = counter();
        helper.alongside('cg_wino4_acc', [xo, dyo, acc1, s1, ...dims, 0, tiles, tb, 1, next], () => accumulate(xo, dyo, acc0, s0, ...dims, 0, tiles, tb, 1, next));
        // The sum and filter-side transform (~1% of the work) here: a second hand-off costs the helper's
        // wake-up, which on a loaded machine is the larger cost.
        native.fn('cg_wino4_finish')(acc0, acc1, dwo, c, k, 0, c);
      }
      counts.wino++;
    } else {
      const rows = fh * fw * c;
      const rows4 = Math.ceil(rows / 4) * 4;
      const positions = nb * oh * ow;
      const pb = blockOverride > 0 ? blockOverride : IM2COL_BLOCK;
      const direct = fh === 1 && fw === 1 && info.strideHeight === 1 && info.strideWidth === 1 && pad[0] === 0 && pad[1] === 0 && oh === h && ow === w && c % 4 === 0 ? 1 : 0;
      const helper = native.helper?.ready && positions >= 2 * pb ? native.helper : null;
      // K not a multiple of 8: acc rows and each block's dy rows padded to kp (zero columns), dropped at the end.
      const kp = Math.ceil(k / 8) * 8;
      const acc0 = buffer(rows4 * kp), s0 = direct ? 0 : buffer(pb * rows4), d0 = kp !== k ? buffer(pb * kp) : 0;
      const acc1 = helper ? buffer(rows4 * kp) : 0, s1 = helper && !direct ? buffer(pb * rows4) : 0, d1 = helper && kp !== k ? buffer(pb * kp) : 0;
      const accumulate = native.fn('cg_im2col_acc');
      const dims = [nb, h, w, c, oh, ow, k, fh, fw, info.strideHeight, info.strideWidth, ...pad, info.dilationHeight, info.dilationWidth] as const;
      const [xo, dyo, dwo] = [at(x), at(dy), at(out)];
      const finish = native.fn('cg_sum_finish');
      if (!helper) {
        accumulate(xo, dyo, acc0, s0, ...dims, 0, positions, pb, 1, direct, 0, kp, d0);
        finish(acc0, 0, dwo, k, 0, rows, kp);
      } else {
        const next = counter();
        helper.alongside('cg_im2col_acc', [xo, dyo, acc1, s1, ...dims, 0, positions, pb, 1, direct, next, kp, d1], () => accumulate(xo, dyo, acc0, s0, ...dims, 0, positions, pb, 1, direct, next, kp, d0));
        finish(acc0, acc1, dwo, k, 0, rows, kp);
      }
      counts.im2col++;
    }
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  } finally {
    for (const t of buffers) backend.disposeData(t.dataId);
  }
  return out;
}
