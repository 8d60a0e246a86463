/**
 * The editor's analysis with the chosen dataset's task: the canvas, inspector, model summary and the
 * training panel all show (and Train is blocked by) an output that does not fit the dataset, e.g. a
 * softmax output on a regression table.
 */
import { useEffect, useMemo } from 'react';
import type { DatasetInfo } from '../../../shared/api';
import type { Analysis } from '../../../shared/graph';
import { analyzeDoc, type TaskTarget } from '../store/analysis';
import type { Doc } from '../store/document';
import { useGraph } from '../store/graphStore';
import { training, useTraining } from './runsStore';
import { taskOf } from './taskMetrics';

/** What a dataset asks of a model's output; null without a dataset. */
export function taskTargetOf(ds: DatasetInfo | undefined): TaskTarget | null {
  if (!ds) return null;
  const task = taskOf(ds);
  const classes = ds.classNames.length;
  return {
    task,
    target: { classes, mean: 0, std: 1, ...(ds.target ? { name: ds.target } : {}) },
    datasetName: ds.name,
    key: `${ds.id}\u0000${task.id}\u0000${classes}\u0000${ds.name}`,
  };
}

/** The open project's dataset (from the engine's list; loaded when a project names one). */
export function useProjectDataset(): DatasetInfo | undefined {
  const id = useGraph((s) => s.meta.dataset);
  const ds = useTraining((s) => (id ? s.datasets.find((d) => d.id === id) : undefined));
  useEffect(() => {
    if (id) void training.init();
  }, [id]);
  return ds;
}

export function useTaskTarget(): TaskTarget | null {
  const ds = useProjectDataset();
  return useMemo(() => taskTargetOf(ds), [ds]);
}

/** analyzeDoc with the project's dataset task. */
export function useAnalysis(doc: Pick<Doc, 'nodes' | 'edges'>): Analysis {
  return analyzeDoc(doc, useTaskTarget());
}
