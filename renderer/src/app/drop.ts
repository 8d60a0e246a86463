/**
 * Files dropped on the window. In the desktop app the preload reads their paths and the main process
 * opens each as what it is (project, model, dataset; main/documents.ts). In a browser (serve mode) a page
 * gets a dropped file's content but never its path, so only a project can be opened from it (as Import
 * file does); models and datasets are imported by their path on the engine's machine, and a notice says so.
 */
import type { LayerforgeShell } from '../../../shared/api/shell';
import { classifyPath } from '../../../shared/shell/fileTypes';
import { guardUnsaved } from '../actions/projects';
import type { ActionContext } from '../actions/register';
import { openProjectText } from '../project/files';

/** True for a drag that carries files (not a layer dragged from the palette). */
export function carriesFiles(dt: Pick<DataTransfer, 'types'> | null | undefined): boolean {
  return !!dt && Array.from(dt.types).includes('Files');
}

export const BROWSER_DROP_HINT =
  'In the browser a dropped file opens only when it is a project (.layerforge or .json); import models with File ▸ Import model… and datasets with Train ▸ Import from disk…, by their path on the engine’s machine.';

export async function openDroppedFiles(files: readonly File[], shell: Pick<LayerforgeShell, 'openFiles'> | null, ctx: ActionContext): Promise<void> {
  if (!files.length) return;
  const notify = ctx.ui.getState().notify;
  if (shell) {
    if (shell.openFiles(files) === 0) notify('error', 'Nothing to open: what was dropped has no file on this computer.');
    return;
  }
  const file = files[0]!;
  let text: string;
  try {
    text = await file.text();
  } catch {
    notify('error', `${file.name} cannot be read here (a folder?). ${BROWSER_DROP_HINT}`);
    return;
  }
  // The name and the first bytes say what it is, as in the desktop app (a folder cannot be dropped here).
  const kind = classifyPath(`/${file.name}`, { exists: true, isDirectory: false, head: text.slice(0, 4096) }).kind;
  if (files.length > 1 || kind !== 'project') {
    notify('error', files.length > 1 ? `Drop one project file at a time. ${BROWSER_DROP_HINT}` : `${file.name} is not a project. ${BROWSER_DROP_HINT}`);
    return;
  }
  guardUnsaved(ctx, 'open another project', () => void openProjectText(ctx, text, file.name));
}
