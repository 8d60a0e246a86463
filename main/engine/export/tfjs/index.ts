import type * as tfjs from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ExportFormat, ExportResult } from '../types';

/** tfjs's default shard size (tensorflowjs_converter uses the same). */
export const SHARD_BYTES = 4 * 1024 * 1024;

/**
 * Writes a model in the TensorFlow.js Layers format: model.json + group1-shardNofM.bin, loadable by
 * tf.loadLayersModel (and by tensorflowjs_converter --input_format=tfjs_layers_model).
 */
export async function exportTfjs(tf: typeof tfjs, model: tfjs.LayersModel, outDir: string): Promise<ExportResult> {
  const dir = resolve(outDir);
  const files: string[] = [];
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await mkdir(dir, { recursive: true });
      const data = artifacts.weightData ? new Uint8Array(tf.io.concatenateArrayBuffers([artifacts.weightData].flat())) : new Uint8Array();
      const n = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
      const paths: string[] = [];
      for (let i = 0; i < n; i++) {
        const name = `group1-shard${i + 1}of${n}.bin`;
        paths.push(name);
        await writeFile(join(dir, name), data.subarray(i * SHARD_BYTES, Math.min((i + 1) * SHARD_BYTES, data.byteLength)));
        files.push(join(dir, name));
      }
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: 'Layerforge',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(join(dir, 'model.json'), JSON.stringify(json));
      files.unshift(join(dir, 'model.json'));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: data.byteLength } };
    }),
  );
  return {
    files,
    notes: [
      'TensorFlow.js Layers format: load with tf.loadLayersModel("file://…/model.json") (tfjs-node) or from a URL in the browser.',
      'Custom layers (MultiHeadAttention, PositionalEmbedding) must be registered before loading (tf.serialization.registerClass).',
    ],
  };
}

export const tfjsFormat: ExportFormat = {
  id: 'tfjs',
  label: 'TensorFlow.js (model.json + weights)',
  extension: '',
  export: (tf, folder, outPath) => exportTfjs(tf, folder.model, outPath),
};
