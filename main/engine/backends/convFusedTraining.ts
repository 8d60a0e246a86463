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
 * or XNNPACK's, both apply bias and relu in the output loop) with a registered gradient: ReLU's (our
 * one-pass LayerforgeReluGrad on y: y > 0 exactly where conv + bias > 0), then the gradient kernels the
 * unfused ops would run, each only where the tape needs it (Conv2DBackpropInput, Conv2DBackpropFilter,
 * the bias's column sum; a first layer's dx is never computed). A registered gradient, not tf.customGrad:
 * customGrad computes every input's gradient, the image's dx included. Every other
 * call (no tape: inference, other backends, other activations, no bias) runs tfjs-layers' own `call`.
 * Second-order gradients through the fused op are not supported (nothing in the engine takes them).
 * Off by default (LAYERFORGE_CONV_FUSED_TRAINING=1 or setConvFusedTraining(true) turns it on): alternating
 * A/B runs on the loaded 2-core machine showed no measurable gain in CPU time per step (lenet5 12.80 vs
 * 12.77 ms; the Add and Relu it saves are ~5% of lenet5's kernels, inside the noise there).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { WASM } from './kernels';
import { nativeKernels } from './native';
import { RELU_GRAD_KERNEL } from './reluGrad';

/** Off by default: no gain measurable on this (loaded) machine; LAYERFORGE_CONV_FUSED_TRAINING=1 turns it on. */
let enabled = process.env.LAYERFORGE_CONV_FUSED_TRAINING === '1';
export function setConvFusedTraining(on: boolean): void {
  enabled = on;
}

let fusedCalls = 0;
/** How many Conv2D layer calls ran as one fused kernel in this process (tests and benchmarks check the routing). */
export function convFusedTrainingCalls(): number {
  return fusedCalls;
}

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
      // ReLU's gradient on y (y > 0 exactly where conv + bias > 0): our one-pass kernel on wasm with our module.
      const native = tf.getBackend() === WASM && d.dtype === 'float32' && nativeKernels(tf.backend()) !== null;
      const dz = (native ? tf.engine().runKernel(RELU_GRAD_KERNEL, { x: y, dy: d }) : tf.mul(d, tf.step(y))) as tfjs.Tensor4D;
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter }, { ...a, inputShape: x.shape } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor,
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dz }, { ...a, filterShape: filter.shape } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor,
        bias: () => tf.sum(dz, [0, 1, 2]),
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
