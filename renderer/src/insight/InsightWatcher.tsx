/**
 * Keeps the canvas's insight state current (mounted once, in the inspector): loads the details of the newest
 * runs that could answer (so a node click finds its run), reads the canvas run's training health after each
 * epoch (the warnings drawn on the nodes), and mounts the "Why?" dialog.
 */
import { useEffect } from 'react';
import { training, useTraining } from '../training/runsStore';
import { ExplainDialog } from './ExplainDialog';
import { insight, useCanvasRun } from './insightStore';
import { canAnswer } from './insightView';

/** How many of the newest runs have their details loaded for the canvas. */
const RECENT = 4;
const asked = new Set<string>();

export function InsightWatcher() {
  const runs = useTraining((s) => s.runs);
  const { pick } = useCanvasRun();
  const run = pick ? runs.find((r) => r.id === pick.runId) : undefined;

  useEffect(() => {
    for (const r of runs.filter(canAnswer).slice(0, RECENT)) {
      if (asked.has(r.id)) continue;
      asked.add(r.id);
      void training.loadRun(r.id);
    }
  }, [runs]);

  const runId = run?.id;
  const freshness = run ? `${run.epochsDone}:${run.status}` : '';
  useEffect(() => {
    if (!runId) {
      insight.clearHealth();
      return;
    }
    void insight.loadHealth(runId, freshness);
  }, [runId, freshness]);

  return <ExplainDialog />;
}
