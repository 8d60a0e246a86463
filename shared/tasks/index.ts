/** The task registry: every learning task Layerforge trains. Add a task = one file + one line here. */
import { classification } from './classification';
import type { OutputInfo, TaskDef, TaskId, TargetInfo } from './define';
import { languageModelling } from './languageModelling';
import { regression } from './regression';

export * from './define';
export { outputInfo, checkGraphForTask } from './check';
export { fitGraphToDataset, type DatasetShapeInfo, type FitResult } from './fit';

export const TASKS: readonly TaskDef[] = [classification, regression, languageModelling];

export function getTask(id: string | undefined): TaskDef {
  const t = TASKS.find((x) => x.id === (id ?? 'classification'));
  if (!t) throw new Error(`Unknown task '${id}'. Known: ${TASKS.map((x) => x.id).join(', ')}.`);
  return t;
}

export type { OutputInfo, TaskId, TargetInfo };
