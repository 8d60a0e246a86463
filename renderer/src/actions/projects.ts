import { isDirty } from '../store/graphStore';
import { downloadProjectCopy, importProjectFile, saveProject, startEmpty } from '../project/files';
import type { ActionContext } from './register';
import { keyIs, mod, MOD, register } from './register';

/** Runs `then` now, or after the user agrees to discard unsaved changes. */
export function guardUnsaved(ctx: ActionContext, what: string, then: () => void): void {
  const s = ctx.graph.getState();
  if (s.screen === 'editor' && isDirty(s)) ctx.ui.setState({ dialog: { kind: 'discard', what, proceed: then } });
  else then();
}

export const newProject = register({
  name: 'newProject',
  label: 'New project',
  shortcut: `${MOD}+N`,
  keyTest: (e) => mod(e) && !e.shiftKey && keyIs(e, 'n'),
  perform: (ctx) => guardUnsaved(ctx, 'start a new project', () => startEmpty(ctx)),
});

export const openProject = register({
  name: 'openProject',
  label: 'Open…',
  shortcut: `${MOD}+O`,
  keyTest: (e) => mod(e) && !e.shiftKey && keyIs(e, 'o'),
  // The Open dialog lists the projects folder and recent projects (plus Browse… in the desktop app and Import file…).
  perform: (ctx) => guardUnsaved(ctx, 'open another project', () => ctx.ui.setState({ dialog: { kind: 'open' } })),
});

export const importProjectFileAction = register({
  name: 'importProjectFile',
  label: 'Import project file…',
  perform: (ctx) =>
    guardUnsaved(ctx, 'import another project', () => {
      ctx.ui.setState({ dialog: null });
      void importProjectFile(ctx);
    }),
});

export const downloadProjectCopyAction = register({
  name: 'downloadProjectCopy',
  label: 'Download a copy',
  enabled: ({ graph }) => graph.getState().screen === 'editor',
  perform: (ctx) => downloadProjectCopy(ctx),
});

export const saveProjectAction = register({
  name: 'saveProject',
  label: 'Save',
  shortcut: `${MOD}+S`,
  keyTest: (e) => mod(e) && !e.shiftKey && keyIs(e, 's'),
  enabled: ({ graph }) => graph.getState().screen === 'editor',
  perform: async (ctx) => {
    await saveProject(ctx, false);
  },
});

export const saveProjectAs = register({
  name: 'saveProjectAs',
  label: 'Save as…',
  shortcut: `Shift+${MOD}+S`,
  keyTest: (e) => mod(e) && e.shiftKey && keyIs(e, 's'),
  enabled: ({ graph }) => graph.getState().screen === 'editor',
  perform: async (ctx) => {
    await saveProject(ctx, true);
  },
});

export const goHome = register({
  name: 'goHome',
  label: 'Start screen',
  perform: (ctx) => guardUnsaved(ctx, 'close this project', () => ctx.graph.getState().closeProject()),
});
