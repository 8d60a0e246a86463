/**
 * A/B of the packed GEMM on whole training steps: each template's Trainer (its batch size, Adam 1e-3,
 * synthetic data, as `npm run bench -- --only profile`), alternating packed GEMM on / off
 * (setPackedGemmEnabled) every --steps steps in one process, --rounds rounds; medians of the wall
 * and process-CPU time per step.
 * Run: npx tsx main/engine/backends/bench-gemm-step.ts [--template mini-gpt,transformer-classifier] [--rounds 6] [--steps 2]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { defaultTrainingSettings, parseProjectText, type TrainingSettings } from '../../../shared/project';
import { selectBackend } from '.';
import { setPackedGemmEnabled } from './kernels';
import { Trainer } from '../training/trainer';
import { syntheticFor } from '../training/testing/helpers';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const templates = arg('template', 'mini-gpt,transformer-classifier').split(',');
const rounds = Number(arg('rounds', '6'));
const steps = Number(arg('steps', '2'));

async function main(): Promise<void> {
  const { tf } = await selectBackend({ force: 'wasm' });
  for (const name of templates) {
    const file = `resources/templates/${name}.json`;
    const project = parseProjectText(readFileSync(file, 'utf8'), file);
    const bs = project.training.batchSize ?? 64;
    const count = bs * steps;
    const settings: TrainingSettings = { ...defaultTrainingSettings(), epochs: 1, batchSize: bs, optimizer: 'adam', learningRate: 1e-3, validationSplit: 1 / (count + 1) };
    const ds = syntheticFor(project.graph, count + 1, 1);
    const trainer = Trainer.fromGraph(tf, project.graph, settings, ds, 'wasm');
    const run = async (id: string) => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await trainer.train(id, count + 1, () => {});
      if (r.reason !== 'completed') throw new Error(`${name}: training failed: ${r.message}`);
      const wall = (r.trainMs ?? performance.now() - t0) / r.batchesCompleted;
      const c = process.cpuUsage(cpu0);
      return { wall, cpu: (c.user + c.system) / 1000 / r.batchesCompleted };
    };
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
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const p = res.packed!, q = res.plain!;
    console.log(`${name} (batch ${bs}, ${rounds} rounds x ${steps} steps, load ${loadavg()[0]!.toFixed(1)}): step wall plain ${med(q.wall).toFixed(1)} -> packed ${med(p.wall).toFixed(1)} ms (${(med(q.wall) / med(p.wall)).toFixed(2)}x); CPU ${med(q.cpu).toFixed(1)} -> ${med(p.cpu).toFixed(1)} ms (${(med(q.cpu) / med(p.cpu)).toFixed(2)}x); min wall ${Math.min(...q.wall).toFixed(1)} -> ${Math.min(...p.wall).toFixed(1)}`);
    trainer.dispose?.();
  }
}
void main();
