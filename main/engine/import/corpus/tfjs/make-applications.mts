/**
 * Writes two large Keras topologies for the import corpus, layer for layer as keras.applications builds
 * them (layer names, configs, wiring), without weights:
 *   resnet50.json           ResNet50 (include_top, 224×224×3, 1000 classes) as Keras 2 `model.to_json()`
 *                           writes it (Functional, inbound_nodes lists): 25,636,712 parameters.
 *   mobilenetv2-finetune.json  A Keras 3 fine-tuning model: Sequential[MobileNetV2 base (alpha 1.0,
 *                           include_top=False, nested Functional with __keras_tensor__ calls), global
 *                           average pooling, dropout, Dense(5)]: 2,257,984 + 6,405 = 2,264,389 parameters.
 * Run: npx tsx main/engine/import/corpus/tfjs/make-applications.mts
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Json = Record<string, unknown>;
const here = dirname(fileURLToPath(import.meta.url));

// ---- Keras 2 functional (ResNet50) ----
function resnet50(): Json {
  const layers: Json[] = [];
  const add = (class_name: string, name: string, config: Json, inputs: string[]): string => {
    layers.push({ name, class_name, config: { name, trainable: true, dtype: 'float32', ...config }, inbound_nodes: inputs.length ? [inputs.map((i) => [i, 0, 0, {}])] : [] });
    return name;
  };
  const conv = (name: string, filters: number, k: number, s: number, padding: string, x: string) =>
    add('Conv2D', name, { filters, kernel_size: [k, k], strides: [s, s], padding, data_format: 'channels_last', dilation_rate: [1, 1], groups: 1, activation: 'linear', use_bias: true }, [x]);
  const bn = (name: string, x: string) => add('BatchNormalization', name, { axis: [3], momentum: 0.99, epsilon: 1.001e-5, center: true, scale: true }, [x]);
  const relu = (name: string, x: string) => add('Activation', name, { activation: 'relu' }, [x]);
  layers.push({ name: 'input_1', class_name: 'InputLayer', config: { batch_input_shape: [null, 224, 224, 3], dtype: 'float32', sparse: false, ragged: false, name: 'input_1' }, inbound_nodes: [] });
  let x = add('ZeroPadding2D', 'conv1_pad', { padding: [[3, 3], [3, 3]], data_format: 'channels_last' }, ['input_1']);
  x = relu('conv1_relu', bn('conv1_bn', conv('conv1_conv', 64, 7, 2, 'valid', x)));
  x = add('ZeroPadding2D', 'pool1_pad', { padding: [[1, 1], [1, 1]], data_format: 'channels_last' }, [x]);
  x = add('MaxPooling2D', 'pool1_pool', { pool_size: [3, 3], padding: 'valid', strides: [2, 2], data_format: 'channels_last' }, [x]);
  const block = (x0: string, f: number, stride: number, shortcutConv: boolean, name: string): string => {
    const sc = shortcutConv ? bn(`${name}_0_bn`, conv(`${name}_0_conv`, 4 * f, 1, stride, 'valid', x0)) : x0;
    let y = relu(`${name}_1_relu`, bn(`${name}_1_bn`, conv(`${name}_1_conv`, f, 1, stride, 'valid', x0)));
    y = relu(`${name}_2_relu`, bn(`${name}_2_bn`, conv(`${name}_2_conv`, f, 3, 1, 'same', y)));
    y = bn(`${name}_3_bn`, conv(`${name}_3_conv`, 4 * f, 1, 1, 'valid', y));
    return relu(`${name}_out`, add('Add', `${name}_add`, {}, [sc, y]));
  };
  const stack = (x0: string, f: number, blocks: number, stride: number, name: string): string => {
    let y = block(x0, f, stride, true, `${name}_block1`);
    for (let i = 2; i <= blocks; i++) y = block(y, f, 1, false, `${name}_block${i}`);
    return y;
  };
  x = stack(x, 64, 3, 1, 'conv2');
  x = stack(x, 128, 4, 2, 'conv3');
  x = stack(x, 256, 6, 2, 'conv4');
  x = stack(x, 512, 3, 2, 'conv5');
  x = add('GlobalAveragePooling2D', 'avg_pool', { data_format: 'channels_last', keepdims: false }, [x]);
  add('Dense', 'predictions', { units: 1000, activation: 'softmax', use_bias: true }, [x]);
  return {
    class_name: 'Functional',
    config: { name: 'resnet50', layers, input_layers: [['input_1', 0, 0]], output_layers: [['predictions', 0, 0]] },
    keras_version: '2.15.0',
    backend: 'tensorflow',
  };
}

// ---- Keras 3 (MobileNetV2 base nested in a Sequential) ----
const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
function mobilenetV2Base(): Json {
  const layers: Json[] = [];
  const tensor = (name: string) => ({ class_name: '__keras_tensor__', config: { shape: null, dtype: 'float32', keras_history: [name, 0, 0] } });
  const add = (class_name: string, name: string, config: Json, inputs: string[]): string => {
    layers.push({
      module: 'keras.layers',
      class_name,
      config: { name, trainable: true, dtype: policy, ...config },
      registered_name: null,
      name,
      inbound_nodes: [{ args: inputs.length === 1 ? [tensor(inputs[0]!)] : [inputs.map(tensor)], kwargs: class_name === 'BatchNormalization' ? { mask: null } : {} }],
    });
    return name;
  };
  const conv = (name: string, filters: number, k: number, s: number, padding: string, x: string) =>
    add('Conv2D', name, { filters, kernel_size: [k, k], strides: [s, s], padding, data_format: 'channels_last', dilation_rate: [1, 1], groups: 1, activation: 'linear', use_bias: false }, [x]);
  const dw = (name: string, s: number, padding: string, x: string) =>
    add('DepthwiseConv2D', name, { kernel_size: [3, 3], strides: [s, s], padding, data_format: 'channels_last', dilation_rate: [1, 1], depth_multiplier: 1, activation: 'linear', use_bias: false }, [x]);
  const bn = (name: string, x: string) => add('BatchNormalization', name, { axis: -1, momentum: 0.999, epsilon: 0.001, center: true, scale: true }, [x]);
  const relu6 = (name: string, x: string) => add('ReLU', name, { max_value: 6.0, negative_slope: 0.0, threshold: 0.0 }, [x]);
  layers.push({ module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 224, 224, 3], dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null, name: 'input_layer', inbound_nodes: [] });
  let x = relu6('Conv1_relu', bn('bn_Conv1', conv('Conv1', 32, 3, 2, 'same', 'input_layer')));
  // expanded_conv (expansion 1)
  x = relu6('expanded_conv_depthwise_relu', bn('expanded_conv_depthwise_BN', dw('expanded_conv_depthwise', 1, 'same', x)));
  x = bn('expanded_conv_project_BN', conv('expanded_conv_project', 16, 1, 1, 'same', x));
  let channels = 16;
  let size = 112;
  const spec: [number, number][] = [[24, 2], [24, 1], [32, 2], [32, 1], [32, 1], [64, 2], [64, 1], [64, 1], [64, 1], [96, 1], [96, 1], [96, 1], [160, 2], [160, 1], [160, 1], [320, 1]];
  spec.forEach(([filters, stride], i) => {
    const p = `block_${i + 1}_`;
    const input = x;
    let y = relu6(`${p}expand_relu`, bn(`${p}expand_BN`, conv(`${p}expand`, channels * 6, 1, 1, 'same', x)));
    if (stride === 2) y = add('ZeroPadding2D', `${p}pad`, { padding: [[0, 1], [0, 1]], data_format: 'channels_last' }, [y]);
    y = relu6(`${p}depthwise_relu`, bn(`${p}depthwise_BN`, dw(`${p}depthwise`, stride, stride === 2 ? 'valid' : 'same', y)));
    y = bn(`${p}project_BN`, conv(`${p}project`, filters, 1, 1, 'same', y));
    if (stride === 1 && channels === filters) y = add('Add', `${p}add`, {}, [input, y]);
    if (stride === 2) size /= 2;
    channels = filters;
    x = y;
  });
  void size;
  x = relu6('out_relu', bn('Conv_1_bn', conv('Conv_1', 1280, 1, 1, 'valid', x)));
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: { name: 'mobilenetv2_1.00_224', trainable: false, layers, input_layers: [['input_layer', 0, 0]], output_layers: [['out_relu', 0, 0]] },
    registered_name: 'Functional',
    build_config: { input_shape: [null, 224, 224, 3] },
  };
}

function mobilenetV2Finetune(): Json {
  const layer = (class_name: string, config: Json) => ({ module: 'keras.layers', class_name, config: { trainable: true, dtype: policy, ...config }, registered_name: null });
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'flowers_finetune',
      trainable: true,
      dtype: policy,
      layers: [
        { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 224, 224, 3], dtype: 'float32', sparse: false, name: 'input_layer_1' }, registered_name: null },
        mobilenetV2Base(),
        layer('GlobalAveragePooling2D', { name: 'global_average_pooling2d', data_format: 'channels_last', keepdims: false }),
        layer('Dropout', { name: 'dropout', rate: 0.2, seed: null, noise_shape: null }),
        layer('Dense', { name: 'dense', units: 5, activation: 'softmax', use_bias: true }),
      ],
      build_input_shape: [null, 224, 224, 3],
    },
    registered_name: null,
  };
}

writeFileSync(join(here, 'resnet50.json'), `${JSON.stringify(resnet50())}\n`);
writeFileSync(join(here, 'mobilenetv2-finetune.json'), `${JSON.stringify(mobilenetV2Finetune())}\n`);
