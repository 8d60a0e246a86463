/**
 * A/B of the packed GEMM on whole training steps: each template's Trainer (its batch size, Adam 1e-3,
 * synthetic data, as `npm run bench -- --only profile`), alternating packed GEMM on / off
 * (setPackedGemmEnabled) every --steps steps in one process, --rounds rounds; medians of the wall
 * and process-CPU time per step.
 * Run: npx tsx main/engine/backends/bench-gemm-step.ts [--template mini-gpt,transformer-classifier] [--rounds 6] [--steps 2]
 */
import { loadavg } from 'node:os';
import { selectBackend } from '.';
import { arg, median as med, templateSteps } from './benchSteps';
import { setPackedGemmEnabled } from './kernels';

const templates = arg('template', 'mini-gpt,transformer-classifier').split(',');
const rounds = Number(arg('rounds', '6'));
const steps = Number(arg('steps', '2'));

async function main(): Promise<void> {
  const { tf } = await selectBackend({ force: 'wasm' });
  for (const name of templates) {
    const { trainer, batchSize: bs, run } = templateSteps(tf, name, steps);
    for (const on of [true, false]) {
      setPackedGemmEnabled(on);
      await run('warmup');
    }
    const res: Record<string, { wall: number[]; cpu: number[] }> = { packed: { wall: [], cpu: [] }, plain: { wall: [], cpu: [] } };
    for (let r = 0; r < rounds; r++)
      for (const on of r % 2 ? [false, true] : [true, false]) {
        setPackedGemmEnabled(on);
        const m = await run(`r${r}`);
        const k = on ? 'packed' : 'plain';
        res[k]!.wall.push(m.wall);
        res[k]!.cpu.push(m.cpu);
      }
    setPackedGemmEnabled(true);
    const p = res.packed!, q = res.plain!;
    console.log(`${name} (batch ${bs}, ${rounds} rounds x ${steps} steps, load ${loadavg()[0]!.toFixed(1)}): step wall plain ${med(q.wall).toFixed(1)} -> packed ${med(p.wall).toFixed(1)} ms (${(med(q.wall) / med(p.wall)).toFixed(2)}x); CPU ${med(q.cpu).toFixed(1)} -> ${med(p.cpu).toFixed(1)} ms (${(med(q.cpu) / med(p.cpu)).toFixed(2)}x); min wall ${Math.min(...q.wall).toFixed(1)} -> ${Math.min(...p.wall).toFixed(1)}`);
    trainer.dispose?.();
  }
}
void main();
