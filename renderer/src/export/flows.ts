/**
 * What the export and import dialogs do, without React: talk to the engine through the client and
 * open an imported model as a new document. Kept apart from the components so tests can drive them.
 */
import type { EngineApi, ExportFormat, ExportResult } from '../../../shared/api';
import type { ImportedModel } from '../../../shared/api/importModel';
import type { ProjectFile } from '../../../shared/project';
import type { ActionContext } from '../actions/register';
import { autoLayout } from '../actions/autoLayout';
import { resolveOutPath } from './formats';

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An engine error split for display: "cannot export to onnx: 2 layers not supported: a (T): why; b (T): why"
 * becomes a headline and one item per layer. Other messages come back whole.
 */
export function explainError(message: string): { headline: string; items: string[] } {
  const m = /^(.*?not supported):\s*(.+)$/s.exec(message);
  if (!m) return { headline: message, items: [] };
  return { headline: m[1]!, items: m[2]!.split(/;\s+/).filter(Boolean) };
}

export async function exportRun(
  engine: Pick<EngineApi, 'exportModel'>,
  req: { runId: string; format: ExportFormat; outPath: string },
): Promise<ExportResult> {
  return engine.exportModel({ runId: req.runId, format: req.format, outPath: resolveOutPath(req.format, req.outPath) });
}

/** Asks the engine to import a model file or folder; `dims` sizes the input dimensions the file leaves open. */
export async function fetchImport(engine: Pick<EngineApi, 'importModel'>, path: string, dims?: Record<string, number>, datasetId?: string): Promise<ImportedModel> {
  return engine.importModel({ path: path.trim(), ...(dims && Object.keys(dims).length ? { dims } : {}), ...(datasetId ? { datasetId } : {}) });
}

/**
 * The project to open for an import: with weights, its training starts from them (training.initialWeights
 * names the imported model folder) unless the engine already set it.
 */
export function importedProject(imported: ImportedModel): ProjectFile {
  const { project, weights } = imported;
  if (!weights || project.training.initialWeights) return project;
  return { ...project, training: { ...project.training, initialWeights: weights.modelDir } };
}

/** One line about an import for the notice: format, layers, parameters, weights. */
export function importSummary(imported: ImportedModel): string {
  const layers = imported.project.graph.nodes.length;
  const parts = [imported.formatLabel, `${layers} layer${layers === 1 ? '' : 's'}`, `${imported.params.toLocaleString('en-US')} params`];
  if (imported.weights) parts.push('with its weights (listed as a run; training starts from them)');
  return parts.join(', ');
}

/** Graphs from this many layers open with their groups collapsed (each nested model one box), to draw quickly. */
export const COLLAPSE_GROUPS_FROM = 400;

/**
 * Opens an imported project as a new, unsaved document and lays it out with the auto-layout action
 * (one undo step, so the importer's own rows are one Undo away).
 */
export async function openImported(ctx: ActionContext, project: ProjectFile, source: string, summary?: string): Promise<void> {
  const groups = project.graph.groups;
  // A very large graph opens with its top-level groups collapsed (expanded from the frame or the summary).
  const opened =
    groups?.length && project.graph.nodes.length >= COLLAPSE_GROUPS_FROM && !groups.some((g) => g.collapsed)
      ? { ...project, graph: { ...project.graph, groups: groups.map((g) => (g.parent === undefined ? { ...g, collapsed: true } : g)) } }
      : project;
  ctx.graph.getState().loadProject(opened, null, { unsaved: true });
  try {
    await autoLayout.perform(ctx);
  } catch (error) {
    ctx.ui.getState().notify('error', `Imported, but auto-layout failed: ${errorText(error)}`);
    return;
  }
  const count = project.graph.nodes.length;
  ctx.ui.getState().notify('info', `Imported ${project.name} (${summary ?? `${count} layer${count === 1 ? '' : 's'}`}) from ${source}`);
}
