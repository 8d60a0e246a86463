/**
 * "See inside the network" state (zustand, no React inside): the picked test sample, the run the user pinned
 * for the canvas, the open "Why?" dialog, the canvas run's training health and its warnings by node. Talks
 * to the engine only through the client (insightApi).
 */
import { createStore } from 'zustand/vanilla';
import { useStore } from 'zustand';
import { useMemo } from 'react';
import type { ExplainMethod, HealthWarning, InsightApi, SampleInfo, TrainingHealth } from '../../../shared/api/insight';
import { getEngine } from '../api/client';
import { graphStore, useGraph } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { trainingStore, useTraining } from '../training/runsStore';
import { fittingRuns, pickCanvasRun, type CanvasRun } from './insightView';

/** The engine's insight requests (EngineApi extends InsightApi). */
export function insightApi(): InsightApi {
  return getEngine();
}

/** What the "Why this prediction?" dialog explains. */
export interface ExplainTarget {
  runId: string;
  sample: number;
  method: ExplainMethod;
  /** Absent: the predicted class. */
  classIndex?: number;
  /** Grad-CAM's convolution node (absent: the last one). */
  nodeId?: string;
}

export interface InsightState {
  /** The test sample the activations are shown for (index in the test split). */
  sample: number;
  /** The run the user picked in the inspector for the canvas's nodes (null: chosen by pickCanvasRun). */
  pinnedRunId: string | null;
  explain: ExplainTarget | null;
  /** The canvas run's health (for the warnings on the nodes), and when it was read (the run's epoch and status). */
  health: { runId: string; freshness: string; data: TrainingHealth } | null;
  /** The canvas run's current warnings, by node id (stable arrays: a node re-renders only when its own change). */
  warnings: Record<string, HealthWarning[]>;
}

export const insightStore = createStore<InsightState>()(() => ({ sample: 0, pinnedRunId: null, explain: null, health: null, warnings: {} }));

export function useInsight<T>(selector: (s: InsightState) => T): T {
  return useStore(insightStore, selector);
}

const EMPTY: HealthWarning[] = [];

/** Warnings by node id; a node keeps its old array when its warnings did not change. */
export function warningsByNode(warnings: readonly HealthWarning[], before: Readonly<Record<string, HealthWarning[]>> = {}): Record<string, HealthWarning[]> {
  const out: Record<string, HealthWarning[]> = {};
  for (const w of warnings) (out[w.nodeId] ??= []).push(w);
  for (const [id, list] of Object.entries(out)) {
    const old = before[id];
    if (old && old.length === list.length && old.every((w, i) => w.kind === list[i]!.kind && w.message === list[i]!.message && w.epoch === list[i]!.epoch)) out[id] = old;
  }
  return out;
}

export function useNodeWarnings(nodeId: string): HealthWarning[] {
  return useInsight((s) => s.warnings[nodeId] ?? EMPTY);
}

/** Small cache of samples (hovering a scatter asks for the same ones again and again). */
const sampleCache = new Map<string, Promise<SampleInfo>>();
const SAMPLE_CACHE = 200;

export const insight = {
  pickSample(index: number): void {
    insightStore.setState({ sample: index });
  },

  pinRun(runId: string | null): void {
    insightStore.setState({ pinnedRunId: runId });
  },

  openExplain(target: ExplainTarget): void {
    insightStore.setState({ explain: target });
  },

  updateExplain(patch: Partial<ExplainTarget>): void {
    insightStore.setState((s) => (s.explain ? { explain: { ...s.explain, ...patch } } : {}));
  },

  closeExplain(): void {
    insightStore.setState({ explain: null });
  },

  /** A test sample of a finished run (cached), or of a live one (asked each time: its prediction changes). */
  sample(runId: string, index: number, live: boolean): Promise<SampleInfo> {
    const key = `${runId}:${index}`;
    if (!live) {
      const hit = sampleCache.get(key);
      if (hit) return hit;
    }
    const p = insightApi().getSample({ runId, sample: index });
    if (!live) {
      sampleCache.set(key, p);
      p.catch(() => sampleCache.delete(key));
      if (sampleCache.size > SAMPLE_CACHE) sampleCache.delete(sampleCache.keys().next().value!);
    }
    return p;
  },

  /** Reads the canvas run's health (for the node badges). Errors leave the badges as they were. */
  async loadHealth(runId: string, freshness: string): Promise<void> {
    const s = insightStore.getState();
    if (s.health?.runId === runId && s.health.freshness === freshness) return;
    try {
      const data = await insightApi().trainingHealth({ runId });
      insightStore.setState((st) => ({ health: { runId, freshness, data }, warnings: warningsByNode(data.warnings, st.warnings) }));
    } catch {
      /* the health panel shows the error where it is asked */
    }
  },

  clearHealth(): void {
    insightStore.setState({ health: null, warnings: {} });
  },

  /** Shows a node of the canvas in the inspector (from a warning, an embedding point). */
  showNode(nodeId: string): void {
    if (!graphStore.getState().doc.nodes.some((n) => n.id === nodeId)) return;
    graphStore.getState().select([nodeId]);
    uiStore.setState({ rightTab: 'inspect' });
  },

  /** Opens a sample's activations on the canvas: picks it, pins its run, closes the dashboard and selects the node. */
  openActivations(runId: string, index: number, nodeId?: string): void {
    insightStore.setState({ sample: index, pinnedRunId: runId });
    trainingStore.setState({ dashboardOpen: false });
    if (nodeId) insight.showNode(nodeId);
    else uiStore.setState({ rightTab: 'inspect' });
  },
};

/** The run the canvas's nodes refer to now (see pickCanvasRun), with the runs that could be picked instead. */
export function useCanvasRun(): { pick: CanvasRun | null; candidates: ReturnType<typeof fittingRuns> } {
  const nodes = useGraph((s) => s.doc.nodes);
  const runs = useTraining((s) => s.runs);
  const details = useTraining((s) => s.details);
  const viewRunId = useTraining((s) => s.viewRunId);
  const pinned = useInsight((s) => s.pinnedRunId);
  return useMemo(() => {
    const canvas = nodes.map((n) => ({ id: n.id, type: n.type }));
    return { pick: pickCanvasRun({ canvas, runs, details, viewRunId, pinned }), candidates: fittingRuns(canvas, runs, details) };
  }, [nodes, runs, details, viewRunId, pinned]);
}
