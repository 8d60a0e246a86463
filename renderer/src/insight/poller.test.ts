import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Poller } from './poller';
import { warningsByNode } from './insightStore';

describe('Poller: live refresh with one request in flight', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(opts: { live?: boolean; visible?: boolean; answerMs?: number } = {}) {
    const state = { live: opts.live ?? true, visible: opts.visible ?? true, calls: 0, inFlight: 0, maxInFlight: 0 };
    const poller = new Poller({
      intervalMs: 3000,
      live: () => state.live,
      visible: () => state.visible,
      run: async () => {
        state.calls++;
        state.inFlight++;
        state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
        await new Promise((r) => setTimeout(r, opts.answerMs ?? 100));
        state.inFlight--;
      },
    });
    return { state, poller };
  }

  it('asks every interval after the previous answer while live and visible', async () => {
    const { state, poller } = setup();
    poller.request();
    expect(state.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(100); // answer
    await vi.advanceTimersByTimeAsync(2999);
    expect(state.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(state.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(3100 * 3);
    expect(state.calls).toBe(5);
    poller.stop();
  });

  it('never has two requests in flight: a request during one is asked right after it', async () => {
    const { state, poller } = setup({ answerMs: 5000 });
    poller.request();
    poller.request();
    poller.request();
    expect(state.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(state.calls).toBe(2); // the queued one, once
    expect(state.maxInFlight).toBe(1);
    poller.stop();
  });

  it('stops asking when the run ends, and while hidden until woken', async () => {
    const { state, poller } = setup();
    poller.request();
    await vi.advanceTimersByTimeAsync(100);
    state.visible = false;
    await vi.advanceTimersByTimeAsync(3000 * 4);
    expect(state.calls).toBe(1);
    state.visible = true;
    poller.wake();
    expect(state.calls).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    state.live = false;
    await vi.advanceTimersByTimeAsync(3000 * 4);
    expect(state.calls).toBe(2);
    poller.stop();
  });

  it('asks once for a finished run and no more; nothing after stop', async () => {
    const { state, poller } = setup({ live: false });
    poller.request();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(state.calls).toBe(1);
    poller.stop();
    poller.request();
    expect(state.calls).toBe(1);
  });
});

describe('warnings by node', () => {
  const w = (nodeId: string, kind: 'dead-units' | 'vanishing-gradients', epoch = 1) => ({ nodeId, layerName: nodeId, kind, epoch, message: `${nodeId} ${kind}` });
  it('groups warnings and keeps a node’s array when its warnings did not change', () => {
    const a = warningsByNode([w('n1', 'dead-units'), w('n2', 'dead-units'), w('n1', 'vanishing-gradients')]);
    expect(a.n1).toHaveLength(2);
    const b = warningsByNode([w('n1', 'dead-units'), w('n1', 'vanishing-gradients'), w('n2', 'dead-units', 2)], a);
    expect(b.n1).toBe(a.n1);
    expect(b.n2).not.toBe(a.n2);
  });
});
