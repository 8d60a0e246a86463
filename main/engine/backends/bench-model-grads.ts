/**
 * A/B of a template model's forward + backward (tf.variableGrads of the mean squared output, training
 * mode) in one process, alternating environment settings every round: A as given, B with the --off
 * switches set to 0. Medians (and minima) of the time per pass over --rounds rounds of --iters passes,
 * and the top-level kernels per pass. Less noisy than whole Trainer steps on a loaded machine.
 * Run: npx tsx main/engine/backends/bench-model-grads.ts [--template transformer-classifier] [--batch 32]
 *        [--off LAYERFORGE_FUSED_MHA,…] [--rounds 15] [--iters 20]
 */
import { loadavg } from 'node:os';
import { selectBackend } from '.';
import { arg, envSetting, loadTemplate, median as med } from './benchSteps';
import { compileGraph } from '../compile';
import { seededRandom } from './inventory';

const templates = arg('template', 'transformer-classifier').split(',');
const off = arg('off', '').split(',').filter(Boolean);
const rounds = Number(arg('rounds', '15'));
const iters = Number(arg('iters', '20'));

const setting = (on: boolean): void => envSetting(off, on);

async function main(): Promise<void> {
  const { tf } = await selectBackend({ force: 'wasm' });
  for (const name of templates) {
    const project = loadTemplate(name);
    const { model } = compileGraph(tf, project.graph);
    const batch = Number(arg('batch', String(project.training.batchSize ?? 32)));
    const [, t] = model.inputs[0]!.shape as [null, number];
    const vocab = (model.layers.find((l) => l.getClassName() === 'Embedding')!.getConfig() as { inputDim: number }).inputDim;
    const rand = seededRandom(3);
    const ids = tf.tensor(Array.from({ length: batch * t }, () => Math.floor(rand() * vocab)), [batch, t], 'int32');
    const pass = () => {
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(ids, { training: true }) as tfjs.Tensor)) as tfjs.Scalar);
      tf.dispose([value, ...Object.values(grads)]);
    };
    const engine = tf.engine() as unknown as { runKernel: (...a: unknown[]) => unknown };
    const original = engine.runKernel;
    const tops: Record<string, number> = {};
    for (const on of [true, false]) {
      setting(on);
      for (let i = 0; i < 3; i++) pass();
      let depth = 0, top = 0;
      engine.runKernel = function (this: unknown, ...a: unknown[]) {
        if (depth === 0) {
          top++;
          if (process.argv.includes('--list')) console.log(`  ${on ? 'A' : 'B'} ${String(a[0])} ${Object.values((a[1] ?? {}) as Record<string, { shape: number[] }>).map((x) => JSON.stringify(x.shape)).join(' ')}`);
        }
        depth++;
        try {
          return original.apply(this, a);
        } finally {
          depth--;
        }
      };
      try {
        pass();
      } finally {
        engine.runKernel = original;
      }
      tops[on ? 'A' : 'B'] = top;
    }
    const res: Record<'A' | 'B', number[]> = { A: [], B: [] };
    for (let r = 0; r < rounds; r++)
      for (const on of r % 2 ? [false, true] : [true, false]) {
        setting(on);
        pass();
        const t0 = performance.now();
        for (let i = 0; i < iters; i++) pass();
        res[on ? 'A' : 'B'].push((performance.now() - t0) / iters);
      }
    setting(true);
    console.log(`${name} forward+backward (batch ${batch}, ${rounds} rounds x ${iters}, load ${loadavg()[0]!.toFixed(1)}, B = ${off.join(',') || 'same'}=0): top-level kernels B ${tops.B} -> A ${tops.A}; median B ${med(res.B).toFixed(3)} -> A ${med(res.A).toFixed(3)} ms (${(med(res.B) / med(res.A)).toFixed(3)}x); min ${Math.min(...res.B).toFixed(3)} -> ${Math.min(...res.A).toFixed(3)} (${(Math.min(...res.B) / Math.min(...res.A)).toFixed(3)}x)`);
    ids.dispose();
    model.dispose();
  }
}
import type * as tfjs from '@tensorflow/tfjs';
void main();
