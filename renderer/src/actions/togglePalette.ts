import { register } from './register';

/** View ▸ Layer Palette: shows or hides the palette on the left of the canvas. */
export const togglePalette = register({
  name: 'togglePalette',
  label: 'Show/hide the layer palette',
  checked: ({ ui }) => ui.getState().paletteOpen,
  perform: ({ ui }) => ui.setState((s) => ({ paletteOpen: !s.paletteOpen })),
});
