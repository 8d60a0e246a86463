import { isDirty } from '../store/graphStore';
import { openProjectText, saveProject, startEmpty } from '../project/files';
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
  perform: (ctx) =>
    guardUnsaved(ctx, 'open another project', () => {
      void ctx.io.open().then((file) => {
        if (file) openProjectText(ctx, file.text, file.fileName);
      });
    }),
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
