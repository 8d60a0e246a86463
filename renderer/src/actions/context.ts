/** The one action context of the app; the canvas plugs the viewport in when it mounts. */
import { graphStore } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { engineIO } from '../project/engineIO';
import type { ActionContext, ViewBridge } from './register';

const noView: ViewBridge = { fitView() {}, zoomIn() {}, zoomOut() {}, centre: () => ({ x: 0, y: 0 }) };

export const appContext: ActionContext = { graph: graphStore, ui: uiStore, view: noView, io: engineIO };

export function setViewBridge(view: ViewBridge | null): void {
  appContext.view = view ?? noView;
}
