/**
 * Opening, saving and starting projects: the glue between the store, the engine's project files and
 * the autosave slot. A save sends the project text to the engine, which writes it atomically (temporary
 * file, flush, rename) and keeps the previous version as `<name>.bak`; on failure the graph stays in
 * memory, still marked unsaved, and the notice names the file and the reason.
 */
import { ApiError, type ProjectErrorDetails, type SavedProject } from '../../../shared/api';
import { projectNameProblem } from '../../../shared/api/projects';
import { newProject, parseProjectText, serializeProject, type ProjectFile } from '../../../shared/project';
import type { ActionContext } from '../actions/register';
import { baseName, isEnginePath, projectFileName } from './io';
import { clearAutosave } from './recovery';

export function openProjectText(ctx: ActionContext, text: string, fileName: string | null, options: { unsaved?: boolean; asTemplate?: boolean } = {}): boolean {
  let project: ProjectFile;
  try {
    project = parseProjectText(text, fileName ?? 'project');
  } catch (error) {
    ctx.ui.getState().notify('error', `Could not open ${fileName ?? 'the project'}: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
  ctx.graph.getState().loadProject(project, options.asTemplate ? null : fileName, { unsaved: options.unsaved });
  ctx.ui.getState().dismissNotice();
  return true;
}

export function startEmpty(ctx: ActionContext): void {
  ctx.graph.getState().loadProject(newProject('Untitled'), null);
  clearAutosave(ctx);
}

export type SaveOutcome =
  | { ok: true; saved: SavedProject }
  | { ok: false; cancelled: true }
  /** `exists`: the name is taken (ask before replacing); otherwise `error` says what went wrong. */
  | { ok: false; cancelled?: false; error: string; exists?: boolean };

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Saves run one after another (Ctrl+S pressed twice never races two writes of one file). */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Saves what the editor holds now with `send`. The document and meta version are taken when the text is
 * made, so an edit made while the save is on its way keeps the project marked unsaved.
 */
function runSave(ctx: ActionContext, what: string, send: (text: string) => Promise<SavedProject | null>): Promise<SaveOutcome> {
  const run = async (): Promise<SaveOutcome> => {
    const s = ctx.graph.getState();
    const snapshot = { doc: s.doc, metaVersion: s.metaVersion };
    const text = serializeProject(s.toProject());
    let saved: SavedProject | null;
    try {
      saved = await send(text);
    } catch (error) {
      const details = error instanceof ApiError ? (error.details as ProjectErrorDetails | undefined) : undefined;
      const msg = message(error);
      if (details?.reason === 'exists') return { ok: false, error: msg, exists: true };
      const file = details?.path ?? what;
      const text = msg.includes(file) ? `Could not save: ${msg}` : `Could not save ${file}: ${msg}`;
      ctx.ui.getState().notify('error', `${text.replace(/\.?$/, '.')} Nothing was lost: your project is still open here.`);
      return { ok: false, error: text };
    }
    if (!saved) return { ok: false, cancelled: true };
    ctx.graph.getState().markSaved(saved.path, snapshot);
    // The autosave goes only once nothing is unsaved (an edit made during the save keeps it).
    const now = ctx.graph.getState();
    if (now.doc === snapshot.doc && now.metaVersion === snapshot.metaVersion) clearAutosave(ctx);
    ctx.ui.getState().notify('info', `Saved ${saved.path}${saved.backup ? ` (previous version kept as ${baseName(saved.backup)})` : ''}`);
    return { ok: true, saved };
  };
  const result = queue.then(run, run);
  queue = result.catch(() => {});
  return result;
}

/** True when the engine shows native Save As / Open dialogs (desktop app). */
export async function hasNativeDialogs(ctx: ActionContext): Promise<boolean> {
  try {
    return await ctx.io.nativeDialogs();
  } catch {
    return false;
  }
}

/**
 * Save (`as` false) writes to the project's file when it has one on the engine's machine; otherwise, and
 * for Save As, it asks where: a native dialog in the desktop app, else our dialog for a name in the
 * projects folder (then `saveProjectNamed` does the save). Resolves true when the project was saved.
 */
export async function saveProject(ctx: ActionContext, as: boolean): Promise<boolean> {
  const state = ctx.graph.getState();
  if (state.screen !== 'editor') return false;
  const current = state.fileName;
  if (!as && isEnginePath(current)) {
    return (await runSave(ctx, current, (text) => ctx.io.files().saveProject({ text, path: current, overwrite: true }))).ok;
  }
  const suggestedName = projectFileName(current ? baseName(current) : state.meta.name);
  if (await hasNativeDialogs(ctx)) {
    return (await runSave(ctx, 'the project', (text) => ctx.io.files().saveProjectAs({ text, suggestedName }))).ok;
  }
  ctx.ui.setState({ dialog: { kind: 'saveAs', initial: suggestedName } });
  return false;
}

/** Saves under `name` in the projects folder (our Save As dialog). `overwrite` after the user agreed to replace. */
export async function saveProjectNamed(ctx: ActionContext, name: string, overwrite = false): Promise<SaveOutcome> {
  const fileName = projectFileName(name);
  const problem = projectNameProblem(fileName);
  if (problem) return { ok: false, error: `Cannot save as “${name}”: ${problem}` };
  return runSave(ctx, fileName, (text) => ctx.io.files().saveProject({ text, name: fileName, overwrite }));
}

/** Opens a project through the engine (by path or by name in the projects folder); resolves to an error text or null. */
export async function openFromEngine(ctx: ActionContext, req: { path: string } | { name: string }): Promise<string | null> {
  try {
    const opened = await ctx.io.files().openProject(req);
    return openProjectText(ctx, opened.text, opened.path) ? null : `Could not open ${opened.path}`;
  } catch (error) {
    const msg = message(error);
    const what = 'path' in req ? req.path : req.name;
    const text = msg.includes(what) || /^could not open/i.test(msg) ? msg : `Could not open ${what}: ${msg}`;
    ctx.ui.getState().notify('error', text.charAt(0).toUpperCase() + text.slice(1));
    return text;
  }
}

/** The desktop app's native Open dialog: opened, cancelled (ok false, no error) or an error text. */
export async function openWithDialog(ctx: ActionContext): Promise<{ ok: boolean; error?: string }> {
  try {
    const opened = await ctx.io.files().openProjectDialog();
    if (!opened) return { ok: false };
    return openProjectText(ctx, opened.text, opened.path) ? { ok: true } : { ok: false, error: `Could not open ${opened.path}` };
  } catch (error) {
    ctx.ui.getState().notify('error', message(error));
    return { ok: false, error: message(error) };
  }
}

/** Import file: a project file from the user's computer (browser upload). It is saved by Save / Save As. */
export async function importProjectFile(ctx: ActionContext): Promise<boolean> {
  const file = await ctx.io.importFile();
  return file ? openProjectText(ctx, file.text, file.fileName) : false;
}

/** Download a copy: the project as a file in the browser's downloads (does not change where it is saved). */
export function downloadProjectCopy(ctx: ActionContext): void {
  const s = ctx.graph.getState();
  if (s.screen !== 'editor') return;
  const name = projectFileName(s.fileName ? baseName(s.fileName) : s.meta.name);
  ctx.io.downloadFile(name, serializeProject(s.toProject()));
  ctx.ui.getState().notify('info', `Downloaded a copy as ${name}`);
}
