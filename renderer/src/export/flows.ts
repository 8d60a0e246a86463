/**
 * What the export and import dialogs do, without React: talk to the engine through the client and
 * open an imported model as a new document. Kept apart from the components so tests can drive them.
 */
import type { EngineApi, ExportFormat, ExportResult } from '../../../shared/api';
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

export async function fetchImport(engine: Pick<EngineApi, 'importModel'>, path: string): Promise<ProjectFile> {
  return (await engine.importModel({ path: path.trim() })).project;
}

/**
 * Opens an imported project as a new, unsaved document and lays it out with the auto-layout action
 * (one undo step, so the importer's own rows are one Undo away).
 */
export async function openImported(ctx: ActionContext, project: ProjectFile, source: string): Promise<void> {
  ctx.graph.getState().loadProject(project, null, { unsaved: true });
  try {
    await autoLayout.perform(ctx);
  } catch (error) {
    ctx.ui.getState().notify('error', `Imported, but auto-layout failed: ${errorText(error)}`);
    return;
  }
  const count = project.graph.nodes.length;
  ctx.ui.getState().notify('info', `Imported ${project.name} (${count} layer${count === 1 ? '' : 's'}) from ${source}`);
}
