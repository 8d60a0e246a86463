import { register } from './register';

/** View ▸ Reset Zoom: the canvas at 100 %. */
export const zoomReset = register({
  name: 'zoomReset',
  label: 'Reset zoom',
  perform: ({ view }) => view.resetZoom?.(),
});
