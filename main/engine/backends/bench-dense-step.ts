/**
 * A/B of GEMM helper thresholds (the products of BatchMatMul, _FusedMatMul and the dense op) on whole training steps: each template's Trainer (its batch size, Adam 1e-3,
 * synthetic data, as `npm run bench -- --only profile`), the variants alternating every --steps steps in one
 * process for --rounds rounds (order reversed every other round), with the kernel profiler on: medians of the
 * step's wall and process-CPU time and of LayerforgeDense / LayerforgeDenseGrad's time per step.
 * Run: npx tsx main/engine/backends/bench-dense-step.ts [--template lenet5,transformer-classifier] [--rounds 8] [--steps 4] [--variants 262144,4194304]
 */
import { loadavg } from 'node:os';
import { selectBackend } from '.';
import { arg, median as med, templateSteps } from './benchSteps';
import { DENSE_GRAD_KERNEL, DENSE_KERNEL } from './dense';
import { setGemmHelperMin } from './kernels';
import { startKernelProfile } from './profile';

const templates = arg('template', 'lenet5,transformer-classifier').split(',');
const rounds = Number(arg('rounds', '8'));
const steps = Number(arg('steps', '4'));
/** Variants: GEMM helper thresholds in multiply-adds (setGemmHelperMin), e.g. 262144 (the old default), 4194304, Infinity (one thread). */
const variants = arg('variants', '262144,4194304').split(',');
const setDenseVariant = (v: string) => setGemmHelperMin(Number(v));

async function main(): Promise<void> {
  const { tf } = await selectBackend({ force: 'wasm' });
  for (const name of templates) {
    const runner = templateSteps(tf, name, steps);
    const { trainer, batchSize: bs } = runner;
    // The profiler wraps the kernels registered when it starts (ours register on first use): start it after a warm-up.
    await runner.run('first');
    const profiler = startKernelProfile(tf);
    const run = async (id: string) => {
      profiler.reset();
      const m = await runner.run(id);
      const p = profiler.read();
      const ms = (k: string) => p.rows.filter((row) => row.kernel === k).reduce((s, row) => s + row.ms, 0);
      return { ...m, fwd: ms(DENSE_KERNEL), grad: ms(DENSE_GRAD_KERNEL) };
    };
    for (const v of variants) {
      setDenseVariant(v);
      await run('warmup');
    }
    type Series = { wall: number[]; cpu: number[]; fwd: number[]; grad: number[] };
    const res = new Map<string, Series>(variants.map((v) => [v, { wall: [], cpu: [], fwd: [], grad: [] }]));
    for (let r = 0; r < rounds; r++)
      for (const v of r % 2 ? [...variants].reverse() : variants) {
        setDenseVariant(v);
        const m = await run(`r${r}`);
        const s = res.get(v)!;
        s.wall.push(m.wall);
        s.cpu.push(m.cpu);
        s.fwd.push(m.fwd);
        s.grad.push(m.grad);
      }
    setDenseVariant(variants[0]!);
    profiler.stop();
    console.log(`${name} (batch ${bs}, ${rounds} rounds x ${steps} steps, load ${loadavg()[0]!.toFixed(1)}), medians (ms/step):`);
    for (const [v, s] of res)
      console.log(`  ${v.padEnd(10)} step wall ${med(s.wall).toFixed(2)} (min ${Math.min(...s.wall).toFixed(2)})  CPU ${med(s.cpu).toFixed(2)}  LayerforgeDense ${med(s.fwd).toFixed(3)} (min ${Math.min(...s.fwd).toFixed(3)})  LayerforgeDenseGrad ${med(s.grad).toFixed(3)} (min ${Math.min(...s.grad).toFixed(3)})`);
    trainer.dispose?.();
  }
}
void main();
