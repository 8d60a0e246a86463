/**
 * A/B of whole transformer training steps: each template's Trainer (its batch size, Adam 1e-3, synthetic
 * data, as `npm run bench -- --only profile`), alternating environment settings (A: as given, B: the
 * --off switches set to 0) every round in one process; medians of wall and process-CPU time per step, and
 * kernels per step (forward / backward / optimizer) for each setting.
 * Run: npx tsx main/engine/backends/bench-transformer-step.ts [--template transformer-classifier,mini-gpt]
 *        [--off LAYERFORGE_FUSED_MHA,LAYERFORGE_…] [--rounds 8] [--steps 4]
 */
import { loadavg } from 'node:os';
import { selectBackend } from '.';
import { arg, envSetting, median as med, templateSteps } from './benchSteps';
import { startKernelProfile, PHASES } from './profile';

const templates = arg('template', 'transformer-classifier,mini-gpt').split(',');
const off = arg('off', '').split(',').filter(Boolean);
const rounds = Number(arg('rounds', '8'));
const steps = Number(arg('steps', '4'));

const setting = (on: boolean): void => envSetting(off, on);

async function main(): Promise<void> {
  const { tf } = await selectBackend({ force: 'wasm' });
  for (const name of templates) {
    const { trainer, batchSize: bs, images, run } = templateSteps(tf, name, steps);
    const ops: Record<string, string> = {};
    const tops: Record<string, number> = {};
    for (const on of [true, false]) {
      setting(on);
      await run('warmup');
      // Top-level kernels (engine.runKernel calls not nested in another kernel): what costs tfjs's per-op bookkeeping.
      const engine = tf.engine() as unknown as { runKernel: (...a: unknown[]) => unknown };
      const original = engine.runKernel;
      let depth = 0, top = 0;
      engine.runKernel = function (this: unknown, ...a: unknown[]) {
        if (depth === 0) top++;
        depth++;
        try {
          return original.apply(this, a);
        } finally {
          depth--;
        }
      };
      const prof = startKernelProfile(tf);
      let batches = 0;
      try {
        batches = (await trainer.train('count', images, () => {})).batchesCompleted;
      } finally {
        prof.stop();
        engine.runKernel = original;
      }
      tops[on ? 'A' : 'B'] = top / batches;
      const p = prof.read();
      const per = PHASES.map((ph) => p.rows.filter((r) => r.phase === ph).reduce((s, r) => s + r.calls, 0));
      ops[on ? 'A' : 'B'] = `${per.reduce((s, x) => s + x, 0).toFixed(0)} (${per.map((x) => x.toFixed(0)).join('/')})`;
      if (process.argv.includes('--rows')) for (const r of p.rows) console.log(`  ${on ? 'A' : 'B'} ${r.phase} ${r.kernel} ${r.calls} ${r.ms.toFixed(3)}`);
    }
    const res: Record<'A' | 'B', { wall: number[]; cpu: number[] }> = { A: { wall: [], cpu: [] }, B: { wall: [], cpu: [] } };
    for (let r = 0; r < rounds; r++)
      for (const on of r % 2 ? [false, true] : [true, false]) {
        setting(on);
        const m = await run(`r${r}`);
        const k = on ? 'A' : 'B';
        res[k].wall.push(m.wall);
        res[k].cpu.push(m.cpu);
      }
    setting(true);
    const a = res.A, b = res.B;
    console.log(`${name} (batch ${bs}, ${rounds} rounds x ${steps} steps, load ${loadavg()[0]!.toFixed(1)}, B = ${off.join(',') || 'same'}=0): top-level kernels/step B ${tops.B!.toFixed(1)} -> A ${tops.A!.toFixed(1)}, all kernel calls B ${ops.B} -> A ${ops.A}; wall B ${med(b.wall).toFixed(2)} -> A ${med(a.wall).toFixed(2)} ms (${(med(b.wall) / med(a.wall)).toFixed(3)}x); CPU ${med(b.cpu).toFixed(2)} -> ${med(a.cpu).toFixed(2)} ms (${(med(b.cpu) / med(a.cpu)).toFixed(3)}x); min wall ${Math.min(...b.wall).toFixed(2)} -> ${Math.min(...a.wall).toFixed(2)}`);
    trainer.dispose?.();
  }
}
void main();
