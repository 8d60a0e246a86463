/**
 * Fine-tuning: a run starts from the weights of a trained-model folder (TrainingSettings.initialWeights: an
 * imported model with weights, or an earlier run's model). Weights are copied layer by layer by node name
 * where every array's shape fits; a layer that is not in the folder, or whose shapes differ (a replaced
 * head), keeps its fresh initialisation. Frozen nodes (trainable: false, compile/index.ts) are listed too.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModelFolder } from '../export/modelFolder';
import { TrainingError } from './trainer';

type Tf = typeof tfjs;

export interface InitialWeightsReport {
  /** Layers whose weights came from the folder. */
  loaded: string[];
  /** Layers with weights that kept their fresh initialisation, each with the reason. */
  fresh: { name: string; reason: string }[];
  /** One line each, for the run's notes (the 'started' event). */
  notes: string[];
}

const shapes = (ws: readonly { shape: readonly (number | null)[] }[]) => `[${ws.map((w) => w.shape.join('×')).join(', ')}]`;

/** Names, shortened past `max` ("a, b, c and 12 more"). */
export function nameList(names: readonly string[], max = 12): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * Copies the weights of the model folder `dir` into `model` (see the module comment). Throws a TrainingError when
 * the folder is not a model folder, or when no layer's weights fit (the folder is another model).
 */
export async function loadInitialWeights(tf: Tf, model: tfjs.LayersModel, dir: string): Promise<InitialWeightsReport> {
  const path = resolve(dir);
  if (!existsSync(join(path, 'model.json')) || !existsSync(join(path, 'project.json'))) {
    throw new TrainingError(
      `initial weights: ${path} is not a trained-model folder (it needs model.json and project.json, as \`layerforge train --out\` and an import with weights write); set training.initialWeights to such a folder, or to null to train from scratch`,
    );
  }
  let source: tfjs.LayersModel;
  try {
    source = (await loadModelFolder(tf, path)).model;
  } catch (error) {
    throw new TrainingError(`initial weights: cannot read the model folder ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const loaded: string[] = [];
  const fresh: { name: string; reason: string }[] = [];
  try {
    const byName = new Map(source.layers.map((l) => [l.name, l]));
    for (const layer of model.layers) {
      const want = layer.weights;
      if (!want.length) continue;
      const from = byName.get(layer.name);
      if (!from) {
        fresh.push({ name: layer.name, reason: 'not in the folder' });
        continue;
      }
      const have = from.getWeights();
      if (have.length !== want.length || have.some((w, i) => w.shape.join('x') !== want[i]!.shape.join('x'))) {
        fresh.push({ name: layer.name, reason: `the folder's weights ${shapes(have)} do not fit ${shapes(want)}` });
        continue;
      }
      layer.setWeights(have);
      loaded.push(layer.name);
    }
  } finally {
    source.dispose();
  }
  if (!loaded.length) {
    throw new TrainingError(
      `initial weights: no layer of this model fits the weights in ${path} (layers are matched by node name and weight shapes: ${fresh.map((f) => `${f.name}: ${f.reason}`).slice(0, 5).join('; ')}); is it the folder of another model?`,
    );
  }
  const notes = [`initial weights from ${path}: ${loaded.length} layer${loaded.length === 1 ? '' : 's'} loaded (${nameList(loaded)})`];
  if (fresh.length) notes.push(`kept their fresh initialisation: ${nameList(fresh.map((f) => `${f.name} (${f.reason})`), 6)}`);
  return { loaded, fresh, notes };
}

/** The run's note about frozen layers (trainable: false), or null when none is. */
export function frozenNote(model: tfjs.LayersModel): string | null {
  const frozen = model.layers.filter((l) => !l.trainable && l.weights.length > 0).map((l) => l.name);
  if (!frozen.length) return null;
  const count = (ws: readonly tfjs.LayerVariable[]) => ws.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);
  const total = count(model.weights);
  const trainable = count(model.trainableWeights);
  return `frozen (not trained): ${frozen.length} layer${frozen.length === 1 ? '' : 's'} (${nameList(frozen)}); ${trainable.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} parameters train`;
}

/** Before a run trains: the initial weights (settings.initialWeights) go into the model, and the notes say what was loaded and frozen. */
export async function prepareFineTuning(tf: Tf, model: tfjs.LayersModel, settings: { initialWeights?: string | null }, notes: string[]): Promise<void> {
  if (settings.initialWeights) notes.push(...(await loadInitialWeights(tf, model, settings.initialWeights)).notes);
  const frozen = frozenNote(model);
  if (frozen) notes.push(frozen);
}
