/**
 * A Conv2D layer's convolution, bias and ReLU as one kernel while training, on wasm.
 *
 * Why tfjs does not fuse them: tfjs-layers' Conv2D calls `tf.fused.conv2d` with the bias and the
 * activation, but tfjs-core's `shouldFuse(gradientDepth, activation)` refuses every activation except
 * linear while a gradient tape records (gradientDepth > 0), so a training step runs Conv2D, then Add
 * (the bias, a full pass over the output), then Relu (another). Its fused gradient would work (dy·step(y)
 * for relu); the refusal is tfjs's general rule, not a limit of the kernel.
 *
 * Here: while a tape records, on wasm, a Conv2D layer with a bias, a relu activation, NHWC, dilation 1
 * runs `conv2dBiasRelu`: one kernel of ours, LayerforgeConvBiasRelu (wasm's FusedConv2D: ours in conv.ts,
 * or XNNPACK's, both apply bias and relu in the output loop) with a registered gradient: ReLU's and the
 * bias's in one pass on y (y > 0 exactly where conv + bias > 0; below), then the gradient kernels the
 * unfused ops would run, each only where the tape needs it (Conv2DBackpropInput, Conv2DBackpropFilter;
 * a first layer's dx is never computed). A registered gradient, not tf.customGrad:
 * customGrad computes every input's gradient, the image's dx included. Every other
 * call (no tape: inference, other backends, other activations, no bias) runs tfjs-layers' own `call`.
 * Second-order gradients through the fused op are not supported (nothing in the engine takes them).
 * The gradient's first pass is LayerforgeReluGradBias (elementwise.c ew_relu_grad_bias): dz = dy·(y > 0)
 * and the bias's gradient (dz's column sums, float32 in blocks of 256 periods) in one pass, where the
 * unfused step ran ReluGrad and then a Sum over dz; LAYERFORGE_RELU_GRAD_BIAS=0 runs those two.
 * On by default (LAYERFORGE_CONV_FUSED_TRAINING=0 or setConvFusedTraining(false) turns it off). Measured
 * alternating in one process (bench-lenetConv.ts --step, bench-reluGrad.ts --fused-only [--vgg]; load
 * 12-16 on 2 cores, so step walls are noisy): forward conv+bias+relu 1.11-1.47x, backward relu grad +
 * bias sum 0.93-2.26x (lenet5 c3's 102K floats the one below 1.0x, 0.041 vs 0.045 ms) on lenet5's,
 * cifar10-cnn's and vgg-cnn's shapes; whole steps: lenet5 1.23x wall median (31 rounds), cifar10-cnn
 * 1.12x (11 and 25 rounds), vgg-cnn 0.83-0.98x wall median but 1.00-1.07x CPU and 14/25 rounds faster
 * (inside the noise: resnet-small, where nothing fuses, measured 0.96x the same way). It also keeps the
 * conv output, the bias-add output and the relu output from living together (~14 MiB less at lenet5's
 * peak). Before the convolutions were rewritten it showed no gain (lenet5 12.80 vs 12.77 ms CPU).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { WASM } from './kernels';
import { nativeKernels } from './native';
import { nativeKernelHere, registerNativeKernel, sizeOf } from './native/heap';
import { RELU_GRAD_KERNEL } from './reluGrad';

/** On by default (see the file's comment); LAYERFORGE_CONV_FUSED_TRAINING=0 turns it off. */
let enabled = process.env.LAYERFORGE_CONV_FUSED_TRAINING !== '0';
export function setConvFusedTraining(on: boolean): void {
  enabled = on;
}

let fusedCalls = 0;
/** How many Conv2D layer calls ran as one fused kernel in this process (tests and benchmarks check the routing). */
export function convFusedTrainingCalls(): number {
  return fusedCalls;
}

/** ReLU's gradient and the bias's column sum in one pass (ew_relu_grad_bias); LAYERFORGE_RELU_GRAD_BIAS=0 (or setReluGradBias(false)) runs them as two kernels. */
let reluGradBias = process.env.LAYERFORGE_RELU_GRAD_BIAS !== '0';
export function setReluGradBias(on: boolean): void {
  reluGradBias = on;
}
/** [dz, db] = [dy·(y > 0), Σ over rows of dz] for y, dy [..., C]: our kernel behind the fused op's gradient. */
export const RELU_GRAD_BIAS_KERNEL = 'LayerforgeReluGradBias';

/** Our kernel: FusedConv2D with relu, under a name of its own so that its gradient is ours. */
export const CONV_BIAS_RELU_KERNEL = 'LayerforgeConvBiasRelu';

/**
 * relu(conv2d(x, filter) + bias), NHWC, dilation 1, as one kernel with a gradient of its own (dx, dW,
 * db: each computed only where the tape needs it; the input image's dx is not), for use under a tape.
 */
export function conv2dBiasRelu(tf: Tf, x: tfjs.Tensor4D, filter: tfjs.Tensor4D, bias: tfjs.Tensor1D, strides: [number, number], pad: 'same' | 'valid'): tfjs.Tensor4D {
  fusedCalls++;
  return tf.engine().runKernel(CONV_BIAS_RELU_KERNEL, { x, filter, bias }, { strides, pad } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor4D;
}

const registeredOn = new WeakSet<object>();

/** Registers the kernel (wasm: the FusedConv2D kernel registered there, relu) and its gradient, once per tf instance. */
function registerConvBiasRelu(tf: Tf): void {
  if (registeredOn.has(tf)) return;
  registeredOn.add(tf);
  registerNativeKernel(tf, { name: RELU_GRAD_BIAS_KERNEL, inputs: ['y', 'dy'] }, ({ native, inputs: { y, dy }, at, output, scratch }) => {
    const c = y.shape.at(-1)!;
    const dz = output(y.shape.slice()), db = output([c]);
    const period = c % 4 === 0 ? c : c % 2 === 0 ? 2 * c : 4 * c;
    const part = scratch(2 * period);
    native.fn('ew_relu_grad_bias')(at(y), at(dy), at(dz), at(db), at(part), c, sizeOf(y.shape) / c);
    return [dz, db];
  });
  const convAttrs = (attrs: Record<string, unknown>) => ({ strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC', dimRoundingMode: undefined });
  tf.registerKernel({
    kernelName: CONV_BIAS_RELU_KERNEL,
    backendName: WASM,
    kernelFunc: (args) => {
      const fused = tf.getKernel('FusedConv2D', WASM);
      if (!fused) throw new Error(`${CONV_BIAS_RELU_KERNEL}: no FusedConv2D kernel on wasm`);
      return fused.kernelFunc({ ...args, attrs: { ...convAttrs(args.attrs as Record<string, unknown>), dilations: [1, 1], activation: 'relu' } as unknown as tfjs.NamedAttrMap });
    },
  });
  tf.registerGradient({
    kernelName: CONV_BIAS_RELU_KERNEL,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved as [tfjs.Tensor4D, tfjs.Tensor4D, tfjs.Tensor4D];
      const d = dy as tfjs.Tensor4D;
      const a = convAttrs(attrs as Record<string, unknown>);
      // ReLU's gradient on y (y > 0 exactly where conv + bias > 0), with the bias's column sum in the same
      // pass on wasm with our module (else our one-pass ReLU gradient, then a Sum; tfjs ops elsewhere).
      const native = tf.getBackend() === WASM && d.dtype === 'float32' && nativeKernels(tf.backend()) !== null;
      let dz: tfjs.Tensor4D, db: tfjs.Tensor | null = null;
      if (native && reluGradBias && y.shape[3]! > 0 && nativeKernels(tf.backend())!.has('ew_relu_grad_bias') && nativeKernelHere(tf, RELU_GRAD_BIAS_KERNEL)) {
        [dz, db] = tf.engine().runKernel(RELU_GRAD_BIAS_KERNEL, { y, dy: d }) as [tfjs.Tensor4D, tfjs.Tensor];
      } else dz = (native ? tf.engine().runKernel(RELU_GRAD_KERNEL, { x: y, dy: d }) : tf.mul(d, tf.step(y))) as tfjs.Tensor4D;
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter }, { ...a, inputShape: x.shape } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor,
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dz }, { ...a, filterShape: filter.shape } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor,
        bias: () => db ?? tf.sum(dz, [0, 1, 2]),
      };
    },
  });
}

/** What the patched call reads of a tfjs-layers Conv2D (its fields in tfjs-layers 4.22). */
interface ConvLayerFields {
  rank: number;
  dataFormat: string;
  padding: string;
  strides: number[];
  dilationRate: number | number[];
  activation: { getClassName(): string } | null;
  kernel: { read(): tfjs.Tensor } | null;
  bias: { read(): tfjs.Tensor } | null;
}

type CallFn = (this: unknown, inputs: tfjs.Tensor | tfjs.Tensor[], kwargs: Record<string, unknown>) => tfjs.Tensor | tfjs.Tensor[];
const patched = new WeakSet<object>();

/** The fused call where it applies (see the file's comment), else null. */
function fusedCall(tf: Tf, layer: ConvLayerFields, inputs: tfjs.Tensor | tfjs.Tensor[]): tfjs.Tensor | null {
  if (!enabled || tf.getBackend() !== WASM || tf.engine().state.gradientDepth === 0 || !registeredOn.has(tf)) return null;
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
  if (!x || x.rank !== 4 || x.dtype !== 'float32') return null;
  if (layer.rank !== 2 || layer.dataFormat !== 'channelsLast' || (layer.padding !== 'same' && layer.padding !== 'valid')) return null;
  if (layer.activation?.getClassName() !== 'relu' || !layer.kernel || !layer.bias) return null;
  const dil = layer.dilationRate;
  if (!(typeof dil === 'number' ? dil === 1 : dil.every((d) => d === 1))) return null;
  const strides = layer.strides;
  if (strides.length !== 2) return null;
  const filter = layer.kernel.read(), bias = layer.bias.read();
  if (filter.rank !== 4 || bias.rank !== 1 || filter.dtype !== 'float32' || bias.dtype !== 'float32') return null;
  return tf.tidy(() => conv2dBiasRelu(tf, x as tfjs.Tensor4D, filter as tfjs.Tensor4D, bias as tfjs.Tensor1D, [strides[0]!, strides[1]!], layer.padding as 'same' | 'valid'));
}

/**
 * Wraps tfjs-layers' Conv2D `call` on this tf instance so that, while training on wasm, a relu Conv2D
 * with a bias runs `conv2dBiasRelu`; idempotent. Conv2DTranspose and the separable / depthwise layers
 * have calls of their own and are not affected.
 */
export function installConvFusedTraining(tf: Tf): void {
  // tfjs-layers' Conv2D class as registered for deserialisation (no layer constructed: that would take a name).
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.Conv2D as unknown as [{ prototype: { call: CallFn } }, unknown] | undefined;
  const proto = entry?.[0].prototype;
  if (!proto || typeof proto.call !== 'function' || patched.has(proto)) return;
  registerConvBiasRelu(tf);
  patched.add(proto);
  const original = proto.call;
  proto.call = function (this: unknown, inputs, kwargs) {
    return fusedCall(tf, this as ConvLayerFields, inputs) ?? original.call(this, inputs, kwargs);
  };
}
