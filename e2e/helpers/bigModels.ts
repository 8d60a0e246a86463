/**
 * Large real-model topologies for the large-import journey, built with TensorFlow.js layers in Node as Keras
 * builds them (keras.applications ResNet50 and MobileNetV2 without their top, 175 and 154 layers) and used as
 * the base of a Sequential (base, global pooling, a Dense classifier): the nested model is imported as a group.
 * Written as a TensorFlow.js model.json with its topology only (no weight files), so the journey measures the
 * import and the drawing, not reading 100 MB of weights.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Tf = typeof tfjs;
type T = tfjs.SymbolicTensor;

function resnet50(tf: Tf): tfjs.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: [224, 224, 3], name: 'input_1' });
  const apply = (layer: tfjs.layers.Layer, x: T | T[]) => layer.apply(x) as T;
  let x = apply(L.zeroPadding2d({ padding: 3, name: 'conv1_pad' }), input);
  x = apply(L.conv2d({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1_conv' }), x);
  x = apply(L.batchNormalization({ epsilon: 1.001e-5, name: 'conv1_bn' }), x);
  x = apply(L.activation({ activation: 'relu', name: 'conv1_relu' }), x);
  x = apply(L.zeroPadding2d({ padding: 1, name: 'pool1_pad' }), x);
  x = apply(L.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }), x);
  const block = (x0: T, filters: number, stride: number, shortcut: boolean, name: string): T => {
    let s = x0;
    if (shortcut) {
      s = apply(L.conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` }), x0);
      s = apply(L.batchNormalization({ epsilon: 1.001e-5, name: `${name}_0_bn` }), s);
    }
    let y = apply(L.conv2d({ filters, kernelSize: 1, strides: stride, name: `${name}_1_conv` }), x0);
    y = apply(L.batchNormalization({ epsilon: 1.001e-5, name: `${name}_1_bn` }), y);
    y = apply(L.activation({ activation: 'relu', name: `${name}_1_relu` }), y);
    y = apply(L.conv2d({ filters, kernelSize: 3, padding: 'same', name: `${name}_2_conv` }), y);
    y = apply(L.batchNormalization({ epsilon: 1.001e-5, name: `${name}_2_bn` }), y);
    y = apply(L.activation({ activation: 'relu', name: `${name}_2_relu` }), y);
    y = apply(L.conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }), y);
    y = apply(L.batchNormalization({ epsilon: 1.001e-5, name: `${name}_3_bn` }), y);
    y = apply(L.add({ name: `${name}_add` }), [s, y]);
    return apply(L.activation({ activation: 'relu', name: `${name}_out` }), y);
  };
  const stages: Array<[number, number, number]> = [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]];
  stages.forEach(([filters, blocks, stride], i) => {
    for (let b = 1; b <= blocks; b++) x = block(x, filters, b === 1 ? stride : 1, b === 1, `conv${i + 2}_block${b}`);
  });
  return tf.model({ inputs: input, outputs: x, name: 'resnet50' });
}

function mobilenetV2(tf: Tf): tfjs.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: [224, 224, 3], name: 'input_1' });
  const apply = (layer: tfjs.layers.Layer, x: T | T[]) => layer.apply(x) as T;
  const relu6 = (name: string) => L.reLU({ maxValue: 6, name });
  let x = apply(L.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }), input);
  x = apply(L.batchNormalization({ epsilon: 1e-3, momentum: 0.999, name: 'bn_Conv1' }), x);
  x = apply(relu6('Conv1_relu'), x);
  let channels = 32;
  let id = 0;
  const block = (x0: T, expansion: number, filters: number, stride: number): T => {
    const p = id === 0 ? 'expanded_conv_' : `block_${id}_`;
    let y = x0;
    if (id > 0) {
      y = apply(L.conv2d({ filters: expansion * channels, kernelSize: 1, padding: 'same', useBias: false, name: `${p}expand` }), y);
      y = apply(L.batchNormalization({ epsilon: 1e-3, momentum: 0.999, name: `${p}expand_BN` }), y);
      y = apply(relu6(`${p}expand_relu`), y);
    }
    if (stride === 2) y = apply(L.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: `${p}pad` }), y);
    y = apply(L.depthwiseConv2d({ kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${p}depthwise` }), y);
    y = apply(L.batchNormalization({ epsilon: 1e-3, momentum: 0.999, name: `${p}depthwise_BN` }), y);
    y = apply(relu6(`${p}depthwise_relu`), y);
    y = apply(L.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, name: `${p}project` }), y);
    y = apply(L.batchNormalization({ epsilon: 1e-3, momentum: 0.999, name: `${p}project_BN` }), y);
    if (channels === filters && stride === 1) y = apply(L.add({ name: `${p}add` }), [x0, y]);
    channels = filters;
    id += 1;
    return y;
  };
  const settings: Array<[number, number, number, number]> = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  for (const [t, c, n, s] of settings) for (let i = 0; i < n; i++) x = block(x, t, c, i === 0 ? s : 1);
  x = apply(L.conv2d({ filters: 1280, kernelSize: 1, useBias: false, name: 'Conv_1' }), x);
  x = apply(L.batchNormalization({ epsilon: 1e-3, momentum: 0.999, name: 'Conv_1_bn' }), x);
  x = apply(relu6('out_relu'), x);
  return tf.model({ inputs: input, outputs: x, name: 'mobilenetv2_1.00_224' });
}

export interface BigModel {
  path: string;
  /** Layers of the base (its input included) and of the whole flattened graph as the importer draws it. */
  baseLayers: number;
  params: number;
}

/** Writes `<dir>/<name>/model.json` (topology only) for 'resnet50' or 'mobilenetv2': base + pooling + Dense(10). */
export async function writeBigModel(dir: string, name: 'resnet50' | 'mobilenetv2'): Promise<BigModel> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const base = name === 'resnet50' ? resnet50(tf) : mobilenetV2(tf);
  const model = tf.sequential({
    name: `${name}_classifier`,
    layers: [base, tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), tf.layers.dense({ units: 10, activation: 'softmax', name: 'predictions' })],
  });
  const topology = model.toJSON(undefined, false);
  const out = join(dir, name);
  mkdirSync(out, { recursive: true });
  const path = join(out, 'model.json');
  writeFileSync(path, JSON.stringify({ format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers (e2e/helpers/bigModels.ts)', convertedBy: null, modelTopology: topology }));
  const result = { path, baseLayers: base.layers.length, params: model.countParams() };
  model.dispose();
  return result;
}
