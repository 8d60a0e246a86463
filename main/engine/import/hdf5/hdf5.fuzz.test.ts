/**
 * Fuzz: Keras .h5 / .keras imports of truncated and byte-mutated fixtures and of files whose model config
 * is malformed. Each either imports (with its weights) or throws a ModelImportError; never another
 * exception, never a hang. Deterministic (seeded) and small: a few dozen files.
 */
import * as tf from '@tensorflow/tfjs';
import { zipSync } from 'fflate';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelImportError } from '../errors';
import type { ModelImporter } from '../types';
import { kerasH5Importer, kerasV3Importer } from '.';

const CORPUS = join(__dirname, '..', 'corpus', 'keras-h5');
const dir = mkdtempSync(join(tmpdir(), 'lf-h5-fuzz-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: the same files every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tally = { imported: 0, refused: 0 };

/** Imports `bytes` written to a file; fails the test on anything but success or a ModelImportError. */
async function attempt(importer: ModelImporter, bytes: Uint8Array, name: string): Promise<void> {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  try {
    const { folder } = await importer.readWithWeights!(tf, file, {});
    folder.model.dispose();
    tally.imported++;
  } catch (error) {
    if (error instanceof ModelImportError) {
      tally.refused++;
      return;
    }
    const e = error as Error;
    throw new Error(`${name}: expected ModelImportError, got ${e?.name}: ${e?.message}\n${e?.stack?.split('\n').slice(1, 4).join('\n')}`);
  }
}

function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const out = bytes.slice();
  const flips = 1 + Math.floor(random() * 8);
  for (let i = 0; i < flips; i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
  return out;
}

describe('Keras .h5 / .keras fuzz', () => {
  afterAll(() => console.log(`[fuzz] keras h5/keras: ${tally.imported} imported, ${tally.refused} refused with ModelImportError`));

  for (const [file, importer] of [
    ['cnn.h5', kerasH5Importer],
    ['nested.h5', kerasH5Importer],
    ['cnn.keras', kerasV3Importer],
    ['lstm_text.keras', kerasV3Importer],
  ] as const) {
    it(`${file}: truncated and mutated bytes give a ModelImportError or an import`, async () => {
      const bytes = new Uint8Array(readFileSync(join(CORPUS, file)));
      const random = rng(file.length * 7919);
      for (let i = 0; i < 6; i++) await attempt(importer, bytes.subarray(0, Math.floor(random() * bytes.length)), `t${i}-${file}`);
      for (let i = 0; i < 10; i++) await attempt(importer, mutate(bytes, random), `m${i}-${file}`);
    }, 60_000);
  }

  const BAD_CONFIGS: unknown[] = [
    'not json {',
    [],
    42,
    { class_name: 'Sequential' },
    { class_name: 'Sequential', config: { layers: 7 } },
    { class_name: 'Sequential', config: { layers: [null, 3, 'x', { class_name: 'Dense' }] } },
    { class_name: 'Functional', config: { layers: [{ class_name: 'Dense', config: { name: 'd', units: -1 } }], input_layers: 'x', output_layers: [[5]] } },
    { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'InputLayer', config: { batch_input_shape: [null, 'a'] } }, { class_name: 'Conv2D', config: { name: 'c', filters: 1e12 } }] } },
    { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'NotALayer', config: { name: 'weird' } }] } },
  ];

  it('a malformed config.json in a .keras archive gives a ModelImportError', async () => {
    const weights = (await import('fflate')).unzipSync(readFileSync(join(CORPUS, 'cnn.keras')))['model.weights.h5']!;
    for (const [i, config] of BAD_CONFIGS.entries()) {
      const text = typeof config === 'string' ? config : JSON.stringify(config);
      await attempt(kerasV3Importer, zipSync({ 'metadata.json': new TextEncoder().encode('{}'), 'config.json': new TextEncoder().encode(text), 'model.weights.h5': weights }), `bad${i}.keras`);
    }
    expect(tally.refused).toBeGreaterThan(0);
  }, 60_000);

  it('a malformed model_config attribute in a .h5 gives a ModelImportError', async () => {
    const h5 = await import('h5wasm/node');
    await h5.ready;
    for (const [i, config] of BAD_CONFIGS.entries()) {
      const file = join(dir, `badcfg${i}.h5`);
      const f = new h5.File(file, 'w');
      f.create_attribute('model_config', typeof config === 'string' ? config : JSON.stringify(config));
      f.create_group('model_weights');
      f.close();
      await attempt(kerasH5Importer, new Uint8Array(readFileSync(file)), `badcfg${i}.h5`);
    }
  }, 60_000);
});
