import { register } from './register';

/** View ▸ Inspector Panel: shows or hides the right-hand panel (inspector and training). */
export const toggleInspector = register({
  name: 'toggleInspector',
  label: 'Show/hide the inspector panel',
  checked: ({ ui }) => ui.getState().inspectorOpen,
  perform: ({ ui }) => ui.setState((s) => ({ inspectorOpen: !s.inspectorOpen })),
});
