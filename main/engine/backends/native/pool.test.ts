import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWasmBackend, type WasmSetup } from '../wasm';
import { heapOffset, nativeKernels, type NativeKernels } from './index';

let setup: WasmSetup;
beforeAll(async () => {
  setup = await initWasmBackend(tf, wasm);
});

/** Our module and its helper on the threaded build (null elsewhere: nothing to test). */
async function withHelper(): Promise<NativeKernels | null> {
  await tf.setBackend('wasm');
  const native = nativeKernels(tf.backend());
  if (setup.build !== 'threaded-simd' || !native?.helper) return null;
  for (let i = 0; i < 100 && !native.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
  expect(native.helper.ready).toBe(true);
  return native;
}

const spinFor = (us: number) => {
  const t0 = performance.now();
  while (performance.now() - t0 < us * 1e-3);
};

describe('the helper thread hand-off (native/pool.ts)', () => {
  let saved: ReturnType<NonNullable<NativeKernels['helper']>['setHandoff']> | null = null;
  afterAll(() => {
    const native = nativeKernels(tf.backend());
    if (saved && native?.helper) native.helper.setHandoff(saved);
  });

  it('computes both halves exactly under every setting, a job taken back (stolen) included', async () => {
    const native = await withHelper();
    if (!native) return;
    const helper = native.helper!;
    saved = { ...helper.handoff };
    // relu_grad over n floats: out = dy·step(x), the second half on the helper.
    const n = 4096, half = n / 2;
    const xv = Float32Array.from({ length: n }, (_, i) => ((i * 37) % 11) - 5);
    const dyv = Float32Array.from({ length: n }, (_, i) => (i % 13) + 1);
    const want = Array.from(xv, (v, i) => (v > 0 ? dyv[i]! : 0));
    const x = tf.tensor1d(xv), dy = tf.tensor1d(dyv), out = tf.zeros([n]);
    const at = (t: tf.Tensor) => heapOffset(tf.backend(), t.dataId);
    const view = () => new Float32Array((tf.backend() as unknown as { wasm: { HEAPF32: Float32Array } }).wasm.HEAPF32.buffer, at(out), n);
    const settings = [
      { helperSpinUs: 0, callerSpinUs: 0, steal: false },
      { helperSpinUs: 0, callerSpinUs: 10, steal: true },
      { helperSpinUs: 20, callerSpinUs: 20, steal: true },
      // Polling: posts find the helper without a wake-up, with and without steals.
      { helperSpinUs: 0, callerSpinUs: 0, steal: false, helperPollUs: 25, helperPollWindowUs: 5000 },
      { helperSpinUs: 30, callerSpinUs: 10, steal: true, helperPollUs: 25, helperPollWindowUs: 5000 },
    ];
    for (const s of settings) {
      helper.setHandoff(s);
      const stolen0 = helper.stats.stolen, posted0 = helper.stats.posted;
      for (let r = 0; r < 200; r++) {
        view().fill(-1);
        const offsets = [at(x), at(dy), at(out)];
        helper.alongside('relu_grad', [...offsets.map((o) => o + 4 * half), n - half], () => {
          native.reluGrad(offsets[0]!, offsets[1]!, offsets[2]!, half);
          if (r % 2) spinFor(100); // half of the rounds the helper has time to take its half
        });
        expect(helper.ready).toBe(true);
        const got = view();
        for (let i = 0; i < n; i += 97) expect(got[i], `${JSON.stringify(s)} round ${r} [${i}]`).toBe(want[i]);
        expect(got[n - 1]).toBe(want[n - 1]);
      }
      expect(helper.stats.posted - posted0).toBe(200);
      if (!s.steal) expect(helper.stats.stolen - stolen0).toBe(0);
    }
    // Right after posting, the caller (steal on) often finds the job unclaimed and runs it itself; how often depends
    // on the schedule (a loaded machine may let the helper claim many in a row), so post until one is taken back.
    helper.setHandoff({ steal: true, helperSpinUs: 0, callerSpinUs: 0 });
    const stolen0 = helper.stats.stolen;
    for (let r = 0; r < 20_000 && helper.stats.stolen === stolen0; r++) helper.alongside('relu_grad', [at(x), at(dy), at(out), n], () => {});
    expect(helper.stats.stolen - stolen0).toBeGreaterThan(0);
    expect(Array.from(view())).toEqual(want);
    tf.dispose([x, dy, out]);
  });

  it('posts wake the helper only after it has announced its sleep (no notify while it spins or polls)', async () => {
    const native = await withHelper();
    if (!native) return;
    const helper = native.helper!;
    const old = helper.setHandoff({ helperSpinUs: 0, callerSpinUs: 10, steal: false, helperPollUs: 25, helperPollWindowUs: 100_000 });
    try {
      // Back-to-back jobs, 100 µs apart: the helper polls between them (a window of 100 ms), so only the
      // first post (if the helper slept from before) needs a wake-up; on a loaded machine a caller
      // descheduled for over 100 ms between two posts lets the helper fall asleep (one more each time).
      // Always notifying (the protocol before) counts 50.
      const n0 = helper.stats.notified;
      for (let r = 0; r < 50; r++) {
        helper.alongside('sum_rows', [0, 0, 0, 0], () => {});
        spinFor(100);
      }
      expect(helper.stats.notified - n0).toBeLessThanOrEqual(10);
      // No polling: once idle the helper announces its sleep, and the next post wakes it.
      helper.setHandoff({ helperSpinUs: 0, helperPollUs: 0 });
      helper.alongside('sum_rows', [0, 0, 0, 0], () => {}); // the helper reads the new settings after this job
      for (let i = 0; i < 400 && !helper.asleep; i++) await new Promise((r) => setTimeout(r, 5));
      expect(helper.asleep).toBe(true);
      const n1 = helper.stats.notified;
      helper.alongside('sum_rows', [0, 0, 0, 0], () => {});
      expect(helper.stats.notified - n1).toBe(1);
      expect(helper.ready).toBe(true);
    } finally {
      helper.setHandoff(old);
    }
  });

  it('a failing caller half drops or waits for the helper half and leaves the helper ready', async () => {
    const native = await withHelper();
    if (!native) return;
    const helper = native.helper!;
    const out = tf.zeros([64]);
    const o = heapOffset(tf.backend(), out.dataId);
    for (let r = 0; r < 20; r++) {
      expect(() =>
        helper.alongside('relu_grad', [o, o, o, 64], () => {
          throw new Error('here failed');
        }),
      ).toThrow('here failed');
      expect(helper.ready).toBe(true);
    }
    out.dispose();
  });

  it('clamps the spins and polls to at most 1 ms (windows 100 ms) and an idle process burns no CPU after hand-offs', async () => {
    const native = await withHelper();
    if (!native) return;
    const helper = native.helper!;
    const old = helper.setHandoff({ helperSpinUs: 1e6, callerSpinUs: -5 });
    expect(helper.handoff.helperSpinUs).toBe(1000);
    expect(helper.handoff.callerSpinUs).toBe(0);
    helper.setHandoff({ helperPollUs: 1e6, helperPollWindowUs: 1e9 });
    expect(helper.handoff.helperPollUs).toBe(1000);
    expect(helper.handoff.helperPollWindowUs).toBe(100_000);
    helper.setHandoff(old);
    expect(helper.handoff.helperPollUs! > 0).toBe(true); // the defaults poll (then sleep: below)
    for (let r = 0; r < 100; r++) helper.alongside('sum_rows', [0, 0, 0, 0], () => {});
    await new Promise((r) => setTimeout(r, 50));
    const cpu0 = process.cpuUsage(), t0 = performance.now();
    await new Promise((r) => setTimeout(r, 400));
    const c = process.cpuUsage(cpu0), ms = performance.now() - t0;
    // Both our threads sleep (vitest's own threads and timers use a little).
    expect((c.user + c.system) / 1000 / ms).toBeLessThan(0.25);
  });
});
