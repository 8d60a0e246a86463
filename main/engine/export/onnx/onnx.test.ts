import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../compile';
import { exportGraphOf, UnsupportedLayersError } from '../exportGraph';
import { layerFixtures, randomInputs, randomizeWeights, templateFixtures } from '../fixtures';
import { buildOnnx, onnxUnsupported } from '.';
import { decodeModel } from './proto';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const fixtures = [...templateFixtures(), ...layerFixtures()];
const measured: Record<string, number> = {};

describe('ONNX export', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s runs in onnxruntime and matches tfjs to < 1e-4', async (_name, fixture) => {
    const { model } = compileGraph(tf, fixture.graph);
    const g = exportGraphOf(fixture.graph, model);
    const bad = onnxUnsupported(g);
    if (bad.length) {
      // A template with a layer ONNX cannot express must fail with the layers named.
      expect(() => buildOnnx(g)).toThrow(UnsupportedLayersError);
      expect(() => buildOnnx(g)).toThrow(bad[0]!.name);
      console.warn(`${fixture.name}: not exportable to ONNX: ${bad.map((b) => `${b.name} (${b.type})`).join(', ')}`);
      model.dispose();
      return;
    }
    randomizeWeights(tf, model, 7);
    const bytes = buildOnnx(exportGraphOf(fixture.graph, model));
    const xs = randomInputs(tf, model, 3);
    const want = [model.predict(xs.length === 1 ? xs[0]! : xs)].flat() as tf.Tensor[];
    const session = await ort.InferenceSession.create(bytes);
    const feeds: Record<string, ort.Tensor> = {};
    model.inputNames.forEach((name, i) => {
      const x = xs[i]!;
      feeds[name] = new ort.Tensor(x.dtype === 'int32' ? 'int32' : 'float32', x.dataSync() as Float32Array | Int32Array, x.shape);
    });
    const got = await session.run(feeds);
    let max = 0;
    model.outputNames.forEach((_n, i) => {
      const name = g.outputs[i]!;
      const o = got[name]!;
      expect(o.dims).toEqual(want[i]!.shape);
      const a = o.data as Float32Array;
      const b = want[i]!.dataSync();
      for (let j = 0; j < b.length; j++) max = Math.max(max, Math.abs(a[j]! - b[j]!));
    });
    measured[fixture.name] = max;
    console.log(`onnx ${fixture.name}: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
    await session.release();
    tf.dispose([...xs, ...want]);
    model.dispose();
  });

  it('writes opset 17, NHWC layout metadata and the layer list', () => {
    const fixture = templateFixtures().find((f) => f.name === 'template:cifar10-cnn')!;
    const { model } = compileGraph(tf, fixture.graph);
    const decoded = decodeModel(buildOnnx(exportGraphOf(fixture.graph, model))) as {
      opsetImport: { version: number }[];
      metadataProps: { key: string; value: string }[];
      graph: { input: { name: string }[] };
    };
    expect(decoded.opsetImport[0]!.version).toBe(17);
    expect(decoded.metadataProps.find((m) => m.key === 'layout')!.value).toBe('NHWC');
    expect(decoded.graph.input[0]!.name).toBe('input_1');
    model.dispose();
  });

  it('names every layer it cannot export in one error', () => {
    const fixture = templateFixtures()[0]!;
    const { model } = compileGraph(tf, fixture.graph);
    const g = exportGraphOf(fixture.graph, model);
    g.layers[1] = { ...g.layers[1]!, type: 'FancyLayer' };
    g.layers[2] = { ...g.layers[2]!, type: 'NoSuchLayer' };
    expect(() => buildOnnx(g)).toThrow(new RegExp(`2 layers not supported: ${g.layers[1]!.name} \\(FancyLayer\\): no ONNX exporter for this layer type yet.*${g.layers[2]!.name} \\(NoSuchLayer\\)`));
    model.dispose();
  });
});
