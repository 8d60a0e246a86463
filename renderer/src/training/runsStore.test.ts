import { describe, expect, it } from 'vitest';
import type { RunDetail, TrainingProgress } from '../../../shared/api';
import { defaultTrainingSettings } from '../../../shared/project';
import { applyProgress, applyProgressAll, trainingStore, type TrainingState } from './runsStore';

const detail: RunDetail = {
  id: 'r1',
  name: 'Run 1',
  datasetId: 'cifar10',
  status: 'starting',
  createdAt: '2026-01-01T00:00:00Z',
  epochs: 2,
  epochsDone: 0,
  hasModel: false,
  settings: defaultTrainingSettings(),
  graph: { nodes: [], edges: [] },
  classNames: [],
  batches: [],
  epochPoints: [],
};

const progress = (over: Partial<TrainingProgress>): TrainingProgress => ({
  runId: 'r1',
  status: 'running',
  backend: 'wasm',
  epoch: 1,
  epochs: 2,
  batch: 1,
  batchesPerEpoch: 4,
  step: 1,
  totalSteps: 8,
  imagesPerSecond: 10,
  elapsedMs: 100,
  etaMs: 700,
  batches: [],
  ...over,
});

describe('applyProgress', () => {
  it('appends batch and epoch points to the run and updates its summary, leaving other runs alone', () => {
    let s: TrainingState = { ...trainingStore.getState(), details: { r1: detail }, runs: [detail, { ...detail, id: 'r2', name: 'Run 2' }] };
    s = { ...s, ...applyProgress(s, progress({ batches: [{ step: 1, epoch: 1, batch: 1, loss: 2, accuracy: 0.1, lr: 0.001 }] })) };
    s = { ...s, ...applyProgress(s, progress({ step: 4, batch: 4, epochPoint: { epoch: 1, loss: 1.5, accuracy: 0.3, valAccuracy: 0.35, lr: 0.001, elapsedMs: 400 } })) };
    expect(s.details.r1!.batches).toHaveLength(1);
    expect(s.details.r1!.epochPoints).toHaveLength(1);
    expect(s.details.r1!.epochsDone).toBe(1);
    expect(s.details.r1!.backend).toBe('wasm');
    expect(s.runs[0]!.status).toBe('running');
    expect(s.runs[1]!.status).toBe('starting');
    expect(s.live.r1!.step).toBe(4);
  });

  it('keeps earlier arrays untouched (new arrays per update, so charts re-render)', () => {
    const s = { ...trainingStore.getState(), details: { r1: detail }, runs: [detail] };
    const next = applyProgress(s, progress({ batches: [{ step: 1, epoch: 1, batch: 1, loss: 2, accuracy: 0.1, lr: 0.001 }] }));
    expect(detail.batches).toHaveLength(0);
    expect(next.details!.r1!.batches).not.toBe(detail.batches);
  });

  it('does not add points the loaded detail already holds (a run loaded while events were on their way)', () => {
    const point = (step: number) => ({ step, epoch: 1, batch: step, loss: 2, accuracy: 0.1, lr: 0.001 });
    const loaded: RunDetail = { ...detail, batches: [point(1), point(2)], epochPoints: [{ epoch: 1, loss: 1, accuracy: 0.5, lr: 0.001, elapsedMs: 1 }] };
    const s = { ...trainingStore.getState(), details: { r1: loaded }, runs: [loaded] };
    const next = applyProgress(s, progress({ step: 3, batches: [point(2), point(3)], epochPoint: { epoch: 1, loss: 1, accuracy: 0.5, lr: 0.001, elapsedMs: 1 } }));
    expect(next.details!.r1!.batches.map((b) => b.step)).toEqual([1, 2, 3]);
    expect(next.details!.r1!.epochPoints).toHaveLength(1);
  });

  it('folds several events at once like one after the other', () => {
    const s: TrainingState = { ...trainingStore.getState(), details: { r1: detail }, runs: [detail] };
    const events = [1, 2, 3].map((step) => progress({ step, batch: step, batches: [{ step, epoch: 1, batch: step, loss: 3 - step / 2, accuracy: 0.1 * step, lr: 0.001 }] }));
    const all = applyProgressAll(s, events);
    let one: TrainingState = s;
    for (const e of events) one = { ...one, ...applyProgress(one, e) };
    expect(all.details!.r1!.batches).toEqual(one.details.r1!.batches);
    expect(all.live!.r1!.step).toBe(3);
    expect(all.runs).toEqual(one.runs);
  });
});
