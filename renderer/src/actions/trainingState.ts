/**
 * What the Train menu's actions ask of the training store: the run in progress and whether Train can
 * start, by the same rules as the training panel's buttons (renderer/src/training/TrainingPanel.tsx).
 */
import type { RunSummary } from '../../../shared/api';
import { analyzeDoc } from '../store/analysis';
import { taskTargetOf } from '../training/taskTarget';
import { trainingStore } from '../training/runsStore';
import type { ActionContext } from './register';

const ACTIVE = new Set<RunSummary['status']>(['starting', 'running', 'paused']);

/** The run that is starting, running or paused, if any (one at a time, as the panel shows). */
export function activeRun(): RunSummary | undefined {
  return trainingStore.getState().runs.find((r) => ACTIVE.has(r.status));
}

/** Why Train cannot start now (the panel's tooltip), or null when it can. */
export function trainBlocker({ graph }: ActionContext): string | null {
  const g = graph.getState();
  if (g.screen !== 'editor') return 'no project is open';
  const t = trainingStore.getState();
  const ds = t.datasets.find((d) => d.id === g.meta.dataset);
  if (activeRun()) return 'a run is in progress';
  if (t.busy) return 'a run is starting';
  if (analyzeDoc(g.doc, taskTargetOf(ds)).problems.some((p) => p.severity === 'error')) return 'the model has problems to fix first';
  if (!ds) return 'choose a dataset first';
  if (ds.status !== 'ready') return `the dataset ${ds.name} is not ready`;
  if (t.connection === 'closed') return 'not connected to the engine';
  return null;
}
