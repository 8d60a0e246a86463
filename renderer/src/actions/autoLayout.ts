import { commitWithLayout } from './relayout';
import { keyIs, register } from './register';

export const autoLayout = register({
  name: 'autoLayout',
  label: 'Auto-layout',
  shortcut: 'L',
  keyTest: (e) => !e.ctrlKey && !e.metaKey && !e.altKey && keyIs(e, 'l'),
  enabled: ({ graph }) => graph.getState().doc.nodes.length > 0,
  perform: async (ctx) => {
    await commitWithLayout(ctx, (doc) => doc, 'Auto-layout');
  },
});
