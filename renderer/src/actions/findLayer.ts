import { keyIs, mod, MOD, register } from './register';

/** Moves the focus to the palette's layer search (shown first if hidden): type to find a layer, Enter adds it. */
export function focusLayerSearch(): void {
  if (typeof document === 'undefined') return;
  const input = document.querySelector<HTMLInputElement>('[data-testid="palette-search"]');
  input?.focus();
  input?.select();
}

export const findLayer = register({
  name: 'findLayer',
  label: 'Find layer…',
  shortcut: `${MOD}+F`,
  keyTest: (e) => mod(e) && !e.shiftKey && !e.altKey && keyIs(e, 'f'),
  perform: ({ ui }) => {
    ui.setState({ paletteOpen: true });
    // After React has shown the palette.
    setTimeout(focusLayerSearch, 0);
  },
});
