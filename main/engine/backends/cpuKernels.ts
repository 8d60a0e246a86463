/**
 * Kernels we supply for tfjs's pure-JS `cpu` backend (the last resort, and many unit tests).
 *
 * Conv2DBackpropFilter: tfjs 4.22's cpu kernel reads every element through
 * `TensorBuffer.get(b, r, c, d)` in the order (tap, cin, cout, batch, row, col): about 80% of a
 * cifar10-cnn training step on cpu. Ours (NHWC; NCHW goes to tfjs's) works on the backend's
 * Float32Arrays with flat indices: for every output position, the dy row (F values) is read once,
 * and for each filter tap that reaches an input pixel, the outer product x[pixel, 0..C) × dy[0..F)
 * is added to dW[tap, 0..C, 0..F) — the innermost loop runs over F, contiguous in dy and dW. The
 * sums are kept in a Float64Array (tfjs sums in doubles too) and rounded to float32 at the end.
 * Dilations are always 1 here (tfjs's conv2DBackpropFilter has no dilations attribute); padding
 * 'same' / 'valid' / explicit comes from tfjs's own computeConv2DInfo.
 *
 * `LAYERFORGE_CPU_KERNELS=0` keeps tfjs's kernel (also when set after registration: checked per call).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';

const CPU = 'cpu';
const NAME = 'Conv2DBackpropFilter';

interface CpuBackendData {
  data: { get(id: tfjs.DataId): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tfjs.DataType, values: Float32Array): tfjs.TensorInfo;
}

interface FilterAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | number[][];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

let original: tfjs.KernelConfig | undefined;
let registered = false;

export function cpuKernelsEnabled(): boolean {
  return process.env.LAYERFORGE_CPU_KERNELS !== '0';
}

/** tfjs's own cpu Conv2DBackpropFilter config (after registerCpuKernels), for tests and fallback. */
export function originalCpuConvFilterKernel(): tfjs.KernelConfig | undefined {
  return original;
}

export interface FilterGeom {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/** dW[kH,kW,C,F] = Σ_b,y,x x[b, y·s−pad+i, x·s−pad+j, c] · dy[b, y, x, f]; NHWC, row-major. */
export function conv2dFilterGradNhwc(x: ArrayLike<number>, dy: ArrayLike<number>, g: FilterGeom): Float32Array {
  const { batch, inH, inW, inC: C, outH, outW, outC: F, kH, kW, strideH, strideW, padTop, padLeft } = g;
  const acc = new Float64Array(kH * kW * C * F);
  const xRow = inW * C;
  const xImg = inH * xRow;
  const dyImg = outH * outW * F;
  for (let b = 0; b < batch; b++) {
    const xB = b * xImg;
    for (let yr = 0; yr < outH; yr++) {
      const r0 = yr * strideH - padTop;
      // Taps i with 0 <= r0 + i < inH.
      const iMin = r0 < 0 ? -r0 : 0;
      const iMax = Math.min(kH, inH - r0);
      for (let yc = 0; yc < outW; yc++) {
        const c0 = yc * strideW - padLeft;
        const jMin = c0 < 0 ? -c0 : 0;
        const jMax = Math.min(kW, inW - c0);
        const dyOff = b * dyImg + (yr * outW + yc) * F;
        for (let i = iMin; i < iMax; i++) {
          const xRowOff = xB + (r0 + i) * xRow;
          for (let j = jMin; j < jMax; j++) {
            const xOff = xRowOff + (c0 + j) * C;
            let wOff = (i * kW + j) * C * F;
            for (let c = 0; c < C; c++, wOff += F) {
              const xv = x[xOff + c]!;
              if (xv === 0) continue; // post-ReLU inputs: skipping zeros changes no sum
              for (let f = 0; f < F; f++) acc[wOff + f] += xv * dy[dyOff + f]!;
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

function filterKernel(tf: Tf, args: { inputs: tfjs.NamedTensorInfoMap; backend: unknown; attrs?: tfjs.NamedAttrMap }): tfjs.TensorInfo {
  const attrs = args.attrs as unknown as FilterAttrs;
  const { x, dy } = args.inputs as { x: tfjs.TensorInfo; dy: tfjs.TensorInfo };
  if (!cpuKernelsEnabled() || (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4) {
    return (original!.kernelFunc as unknown as (a: typeof args) => tfjs.TensorInfo)(args);
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad as 'same', attrs.dimRoundingMode, false, 'channelsLast');
  const backend = args.backend as CpuBackendData;
  const xv = backend.data.get(x.dataId).values;
  const dyv = backend.data.get(dy.dataId).values;
  const out = conv2dFilterGradNhwc(xv, dyv, {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  });
  return backend.makeTensorInfo(info.filterShape.slice(), 'float32', out);
}

/**
 * Replaces tfjs's cpu Conv2DBackpropFilter with ours (idempotent). With LAYERFORGE_CPU_KERNELS=0 at
 * registration nothing is replaced.
 */
export function registerCpuKernels(tf: Tf): void {
  if (registered || !cpuKernelsEnabled()) return;
  const orig = tf.getKernel(NAME, CPU);
  if (!orig) return; // no cpu backend in this build of tfjs
  original = orig;
  registered = true;
  tf.unregisterKernel(NAME, CPU);
  tf.registerKernel({ kernelName: NAME, backendName: CPU, kernelFunc: ((args: Parameters<typeof filterKernel>[1]) => filterKernel(tf, args)) as unknown as tfjs.KernelFunc });
}
