/** Opening, saving and starting projects: the glue between the store, the IO and local storage. */
import { newProject, parseProjectText, serializeProject, type ProjectFile } from '../../../shared/project';
import type { ActionContext } from '../actions/register';
import { projectFileName } from './io';
import { addRecent, clearRecovery } from './storage';

export function openProjectText(ctx: ActionContext, text: string, fileName: string | null, options: { unsaved?: boolean; asTemplate?: boolean } = {}): boolean {
  let project: ProjectFile;
  try {
    project = parseProjectText(text, fileName ?? 'project');
  } catch (error) {
    ctx.ui.getState().notify('error', `Could not open ${fileName ?? 'the project'}: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
  ctx.graph.getState().loadProject(project, options.asTemplate ? null : fileName, { unsaved: options.unsaved });
  if (fileName && !options.asTemplate && !options.unsaved) addRecent({ fileName, name: project.name, savedAt: Date.now(), text });
  ctx.ui.getState().dismissNotice();
  return true;
}

export function startEmpty(ctx: ActionContext): void {
  ctx.graph.getState().loadProject(newProject('Untitled'), null);
  clearRecovery();
}

export async function saveProject(ctx: ActionContext, as: boolean, requestedName?: string): Promise<boolean> {
  const state = ctx.graph.getState();
  if (state.screen !== 'editor') return false;
  let fileName = state.fileName;
  if (as || !fileName) {
    if (requestedName === undefined) {
      ctx.ui.setState({ dialog: { kind: 'saveAs', initial: fileName ?? projectFileName(state.meta.name) } });
      return false;
    }
    fileName = projectFileName(requestedName);
  }
  const text = serializeProject(state.toProject());
  const saved = await ctx.io.save(fileName, text);
  if (!saved) return false;
  ctx.graph.getState().markSaved(saved);
  addRecent({ fileName: saved, name: state.meta.name, savedAt: Date.now(), text });
  clearRecovery();
  ctx.ui.getState().notify('info', ctx.io.writesInPlace ? `Saved ${saved}` : `Saved ${saved} (downloaded)`);
  return true;
}
