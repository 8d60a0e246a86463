/**
 * Fuzz: model.json import (importKerasModelJson / importModelPath) on random and mutated TensorFlow.js
 * topologies, Keras 3 to_json with a nested Functional and a Keras 2 nested Sequential. Each input either becomes a valid project or throws a ModelImportError (or, for a
 * Layerforge project file, a ProjectFileError); never a TypeError from deep inside, never a hang.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMutations, FuzzTally, mutationPlans, nastyValue } from '../../../scripts/security/fuzz';
import { parseProject, ProjectFileError } from '../../../shared/project';
import { compileGraph } from '../compile';
import { templateFixtures } from '../export/fixtures';
import { importKerasModelJson, importModelPath, ModelImportError } from '.';

const tally = new FuzzTally('model.json imports');
const dir = mkdtempSync(join(tmpdir(), 'lf-import-fuzz-'));
const seeds: unknown[] = [];
afterAll(() => {
  tally.report();
  rmSync(dir, { recursive: true, force: true });
});

beforeAll(async () => {
  await tf.setBackend('cpu');
  for (const f of templateFixtures().slice(0, 4)) {
    const { model } = compileGraph(tf, f.graph);
    seeds.push({ modelTopology: model.toJSON(null, false), weightsManifest: [{ paths: ['w.bin'], weights: [] }] });
    model.dispose();
  }
  // Keras 3 to_json with a nested Functional base (DTypePolicy, __keras_tensor__ calls, module / registered_name,
  // an input of unknown length) and a Keras 2 Sequential wrapping a nested bare-list Sequential
  const kt = (name: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 8], dtype: 'float32', keras_history: [name, 0, 0] } });
  const k3 = (class_name: string, name: string, config: Record<string, unknown>, args: unknown[]) => ({
    module: 'keras.layers', class_name, name, registered_name: null,
    config: { name, trainable: true, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null }, ...config },
    inbound_nodes: args.length ? [{ args, kwargs: {} }] : [],
  });
  seeds.push({
    module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
    config: {
      name: 'outer', trainable: true, input_layers: [['x', 0, 0]], output_layers: [['head', 0, 0]],
      layers: [
        k3('InputLayer', 'x', { batch_shape: [null, null, 8], dtype: 'float32' }, []),
        {
          module: 'keras.src.models.functional', class_name: 'Functional', name: 'base', registered_name: 'Functional',
          config: { name: 'base', trainable: false, input_layers: ['bx', 0, 0], output_layers: ['bg', 0, 0], layers: [k3('InputLayer', 'bx', { batch_shape: [null, null, 8] }, []), k3('Conv1D', 'bc', { filters: 4, kernel_size: [3], padding: 'same', activation: 'relu' }, [kt('bx')]), k3('GRU', 'bg', { units: 4, reset_after: false }, [kt('bc')])] },
          inbound_nodes: [{ args: [kt('x')], kwargs: {} }],
        },
        k3('Dense', 'head', { units: 2, activation: 'softmax' }, [kt('base')]),
      ],
    },
  });
  seeds.push({
    class_name: 'Sequential',
    config: [{ class_name: 'Sequential', config: [{ class_name: 'Dense', config: { name: 'e1', units: 6, activation: 'relu', batch_input_shape: [null, 5] } }] }, { class_name: 'Dense', config: { name: 'out', units: 2 } }],
  });
  seeds.push({
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd1', units: 4, activation: 'relu', batch_input_shape: [null, 3, 8] } }, { class_name: 'Flatten', config: { name: 'f' } }, { class_name: 'Dense', config: { name: 'd2', units: 2, activation: 'softmax' } }] },
    },
  });
});

/**
 * Outcome of one import; throws (failing the property) on an unexpected error type. A TypeError is the
 * known gap (malformed fields are read without checks) and is counted, not failed, unless `strict`.
 */
const typeErrors = new Map<string, number>();
function outcome(run: () => { project: unknown }, what: string, strict = false): 'ok' | 'refused' | 'type-error' {
  try {
    const r = run();
    parseProject(r.project, 'imported project'); // what import returns must be a valid project
    return 'ok';
  } catch (error) {
    if (error instanceof ModelImportError || error instanceof ProjectFileError) return 'refused';
    if (!strict && error instanceof TypeError) {
      typeErrors.set(error.message, (typeErrors.get(error.message) ?? 0) + 1);
      return 'type-error';
    }
    const e = error as Error;
    throw new Error(`${what}: expected ModelImportError, got ${e?.name}: ${e?.message}\n${e?.stack?.split('\n').slice(1, 4).join('\n')}`);
  }
}

describe('model.json import under fuzzing', () => {
  it('the seeds import as they are', () => {
    expect(seeds.length).toBeGreaterThan(1);
    for (const s of seeds) expect(outcome(() => importKerasModelJson(s), 'seed')).toBe('ok');
  });

  it('mutated model.json topologies: a valid project, a ModelImportError, or the known TypeError gap (never another error)', () => {
    const counts = { ok: 0, refused: 0, 'type-error': 0 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99 }), mutationPlans(3), (k, plans) => {
        tally.add('mutated model.json');
        counts[outcome(() => importKerasModelJson(applyMutations(seeds[k % seeds.length], plans)), 'mutated')]++;
      }),
      { numRuns: 1000 },
    );
    console.log(`[fuzz] import: of 1000 mutated model.json, ${counts.ok} imported, ${counts.refused} refused with ModelImportError, ${counts['type-error']} hit the known TypeError gap`);
  });

  it('random JSON values and nasty values as model.json', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }), nastyValue, fc.record({ modelTopology: fc.record({ class_name: fc.constantFrom('Sequential', 'Model', 'Functional'), config: nastyValue }) })), (v) => {
        tally.add('random model.json');
        outcome(() => importKerasModelJson(v), 'random');
      }),
      { numRuns: 600 },
    );
  });

  // Fields of the wrong type deep inside a topology once gave a TypeError; they must give a ModelImportError.
  it('malformed model.json fields give ModelImportError, not TypeError', () => {
    const seq = (layers: unknown[]) => ({ modelTopology: { class_name: 'Sequential', config: { layers } } });
    const input = { class_name: 'InputLayer', config: { name: 'i', batch_input_shape: [null, 3, 4] } };
    const cases: unknown[] = [
      { modelTopology: { class_name: 'Sequential' } }, // Cannot read properties of undefined (reading 'layers')
      seq([null]), // Cannot read properties of null (reading 'config')
      seq([{ class_name: 'Dense', config: { units: 2, batch_input_shape: 5 } }]), // shape.slice is not a function
      seq([input, { class_name: '__proto__', config: {} }]), // importer is not a function
      seq([input, { class_name: 'Reshape', config: { name: 'r', target_shape: 4 } }]), // c.target_shape.map is not a function
      { modelTopology: { class_name: 'Model', config: { layers: [null] } } }, // Cannot read properties of null (reading 'name')
    ];
    const wrong = cases.filter((c) => outcome(() => importKerasModelJson(c), 'known gap', true) === 'type-error');
    expect(wrong).toEqual([]);
  });

  it('reports the TypeErrors seen', () => {
    for (const [m, n] of typeErrors) console.log(`[fuzz] import: TypeError x${n}: ${m}`);
    expect(true).toBe(true);
  });

  it('importModelPath on random file contents', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? '')), async (text) => {
        tally.add('model.json file');
        const file = join(dir, 'model.json');
        writeFileSync(file, text);
        await importModelPath(file).then(
          (r) => parseProject(r.project),
          (error: unknown) => {
            if (!(error instanceof ModelImportError || error instanceof ProjectFileError)) throw error;
          },
        );
      }),
      { numRuns: 200 },
    );
  });
});
