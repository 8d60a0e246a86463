import { keyIs, mod, register } from './register';

export const fitView = register({
  name: 'fitView',
  label: 'Fit view',
  shortcut: 'F',
  keyTest: (e) => !mod(e) && !e.altKey && keyIs(e, 'f'),
  perform: ({ view }) => view.fitView(),
});

export const zoomIn = register({
  name: 'zoomIn',
  label: 'Zoom in',
  shortcut: '+',
  keyTest: (e) => !mod(e) && (e.key === '+' || e.key === '='),
  perform: ({ view }) => view.zoomIn(),
});

export const zoomOut = register({
  name: 'zoomOut',
  label: 'Zoom out',
  shortcut: '-',
  keyTest: (e) => !mod(e) && (e.key === '-' || e.key === '_'),
  perform: ({ view }) => view.zoomOut(),
});

export const toggleSnap = register({
  name: 'toggleSnap',
  label: 'Snap to grid',
  shortcut: 'G',
  keyTest: (e) => !mod(e) && !e.altKey && keyIs(e, 'g'),
  checked: ({ ui }) => ui.getState().snapToGrid,
  perform: ({ ui }) => ui.setState((s) => ({ snapToGrid: !s.snapToGrid })),
});

export const toggleHelp = register({
  name: 'toggleHelp',
  label: 'Keyboard shortcuts',
  shortcut: '?',
  keyTest: (e) => e.key === '?',
  perform: ({ ui }) => ui.setState((s) => ({ helpOpen: !s.helpOpen })),
});

export const toggleTheme = register({
  name: 'toggleTheme',
  label: 'Toggle light/dark theme',
  shortcut: 'Shift+T',
  keyTest: (e) => !mod(e) && e.shiftKey && keyIs(e, 't'),
  perform: ({ ui }) => {
    const s = ui.getState();
    const dark = s.themePref === 'system' ? s.systemDark : s.themePref === 'dark';
    s.setThemePref(dark ? 'light' : 'dark');
  },
});
