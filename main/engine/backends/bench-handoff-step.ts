/**
 * A/B of the helper thread's hand-off settings (native/pool.ts) and the GEMM helper threshold on whole
 * training steps: each template's Trainer (its batch size, Adam 1e-3, synthetic data), the variants
 * alternating every --steps steps in one process for --rounds rounds (order reversed every other round):
 * medians of the step's wall and process-CPU time, and the hand-offs per step (posted, % stolen).
 * A variant is protocol@threshold: protocol old (no spin, no poll, no steal: the protocol before), steal (steal,
 * no spin), new (the defaults) or name:helperSpinUs/callerSpinUs/steal(0|1)[/helperPollUs/helperPollWindowUs]; threshold in multiply-adds
 * (setGemmHelperMin; 'default' keeps kernels.ts's).
 * Run: npx tsx main/engine/backends/bench-handoff-step.ts [--template lenet5,transformer-classifier] [--rounds 8] [--steps 3] [--variants old@4194304,new@262144,new@1048576,new@4194304]
 */
import { loadavg } from 'node:os';
import { selectBackend } from '.';
import { arg, median as med, templateSteps } from './benchSteps';
import { gemmHelperMinimum, setGemmHelperMin } from './kernels';
import { nativeKernels } from './native';
import type { HandoffSettings } from './native/pool';

const templates = arg('template', 'lenet5,transformer-classifier,cifar10-cnn,mini-gpt').split(',');
const rounds = Number(arg('rounds', '8'));
const steps = Number(arg('steps', '3'));
const variants = arg('variants', 'old@4194304,new@262144,new@1048576,new@4194304').split(',');

async function main(): Promise<void> {
  const { tf } = await selectBackend({ force: 'wasm' });
  const native = nativeKernels(tf.backend());
  for (let i = 0; i < 100 && native?.helper && !native.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
  const helper = native?.helper;
  if (!helper) throw new Error('no helper thread here');
  const known: Record<string, HandoffSettings> = {
    old: { helperSpinUs: 0, callerSpinUs: 0, steal: false, helperPollUs: 0, helperPollWindowUs: 0 },
    steal: { helperSpinUs: 0, callerSpinUs: 0, steal: true, helperPollUs: 0, helperPollWindowUs: 0 },
    new: { ...helper.handoff },
  };
  const defaultMin = gemmHelperMinimum();
  const setVariant = (v: string) => {
    const [proto, min] = v.split('@');
    let s = known[proto!];
    if (!s) {
      const [, spec] = proto!.split(':');
      const [h, c, st, poll, win] = (spec ?? '').split('/').map(Number);
      s = { helperSpinUs: h ?? 0, callerSpinUs: c ?? 0, steal: st === 1, helperPollUs: poll ?? 0, helperPollWindowUs: win ?? known.new!.helperPollWindowUs };
    }
    helper.setHandoff(s);
    setGemmHelperMin(!min || min === 'default' ? defaultMin : Number(min));
  };
  console.log(`hand-off 'new' = ${JSON.stringify(known.new)}; default threshold ${defaultMin}`);
  for (const name of templates) {
    const runner = templateSteps(tf, name, steps);
    const { trainer, batchSize: bs } = runner;
    await runner.run('first');
    const run = async (id: string) => {
      const p0 = helper.stats.posted, s0 = helper.stats.stolen;
      const m = await runner.run(id);
      return { ...m, posted: (helper.stats.posted - p0) / steps, stolen: helper.stats.stolen - s0 };
    };
    for (const v of variants) {
      setVariant(v);
      await run('warmup');
    }
    type Series = { wall: number[]; cpu: number[]; posted: number; stolen: number };
    const res = new Map<string, Series>(variants.map((v) => [v, { wall: [], cpu: [], posted: 0, stolen: 0 }]));
    for (let r = 0; r < rounds; r++)
      for (const v of r % 2 ? [...variants].reverse() : variants) {
        setVariant(v);
        const m = await run(`r${r}`);
        const s = res.get(v)!;
        s.wall.push(m.wall);
        s.cpu.push(m.cpu);
        s.posted += m.posted;
        s.stolen += m.stolen;
      }
    setVariant('new@default');
    const base = med(res.get(variants[0]!)!.wall);
    console.log(`${name} (batch ${bs}, ${rounds} rounds x ${steps} steps, load ${loadavg()[0]!.toFixed(1)}), medians (ms/step):`);
    for (const [v, s] of res)
      console.log(`  ${v.padEnd(18)} wall ${med(s.wall).toFixed(2)} (min ${Math.min(...s.wall).toFixed(2)}, ${(base / med(s.wall)).toFixed(3)}x)  CPU ${med(s.cpu).toFixed(2)}  hand-offs/step ${(s.posted / rounds).toFixed(0)} (${s.posted ? ((100 * s.stolen) / (s.posted * steps)).toFixed(0) : 0}% stolen)`);
    trainer.dispose?.();
  }
}
void main();
