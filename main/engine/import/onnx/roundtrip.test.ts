/**
 * The ONNX path end to end with weights: a PyTorch ONNX file (corpus/onnx/cnn_bn.onnx, NCHW, BatchNorm) is
 * imported with its weights, saved as a model folder, reloaded, exported again as ONNX by our exporter (NHWC),
 * and onnxruntime runs both files on the same images: the predictions agree to < 1e-5 of the output scale.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getExportFormat } from '../../export';
import { loadModelFolder, saveModelFolder } from '../../export/modelFolder';
import { onnxImporter } from '.';

const dir = mkdtempSync(join(tmpdir(), 'lf-onnx-roundtrip-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ONNX import -> model folder -> ONNX export', () => {
  it('predicts as the source file does (PyTorch CNN with BatchNorm, NCHW in, NHWC out again)', async () => {
    const source = join('main/engine/import/corpus/onnx/cnn_bn.onnx');
    const { folder } = await onnxImporter.readWithWeights!(tf, source, {});
    await saveModelFolder(tf, join(dir, 'model'), folder);
    folder.model.dispose();
    const reloaded = await loadModelFolder(tf, join(dir, 'model'));
    const out = join(dir, 'again.onnx');
    await getExportFormat('onnx')!.export(tf, reloaded, out);
    reloaded.model.dispose();

    const [n, c, h, w] = [2, 3, 16, 16]; // the file fixes the batch at 2
    const nchw = tf.randomNormal([n, c, h, w], 0, 1, 'float32', 11);
    const nhwc = nchw.transpose([0, 2, 3, 1]);
    const run = async (file: string, x: tf.Tensor): Promise<Float32Array> => {
      const session = await ort.InferenceSession.create(file);
      const res = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
      return res[session.outputNames[0]!]!.data as Float32Array;
    };
    const want = await run(source, nchw);
    const got = await run(out, nhwc);
    tf.dispose([nchw, nhwc]);
    expect(got.length).toBe(want.length);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    expect(diff / Math.max(scale, 1e-6)).toBeLessThan(1e-5);
  });
});
