import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useNodesInitialized,
  getViewportForBounds,
  useReactFlow,
  type Connection,
  type NodeTypes,
  type Viewport,
} from '@xyflow/react';
import { getLayer } from '../../../shared/layers';
import { dispatch, setViewBridge } from '../actions';
import { connect } from '../store/document';
import { useAnalysis } from '../training/taskTarget';
import { graphStore, useGraph } from '../store/graphStore';
import { resolvedTheme, uiStore, useUi } from '../store/uiStore';
import { categoryColor } from './colors';
import { GROUP_BOX_SIZE, LAYER_SIZE, createFlowModel, type FlowNode, type LayerFlowEdge } from './flowModel';
import { GroupBox, GroupFrame } from './GroupNodes';
import { DEFAULT_NODE_SIZE } from './layout';
import { LayerNode } from './LayerNode';

export const LAYER_MIME = 'application/x-layerforge-layer';

const nodeTypes: NodeTypes = { layer: LayerNode, groupFrame: GroupFrame, groupBox: GroupBox };
const SNAP: [number, number] = [10, 10];
const PAN_BUTTONS = [1, 2];
const MULTI_KEYS = ['Shift', 'Meta', 'Control'];
// Props that React Flow copies into its store are constants: a new object on each render of the canvas
// (each mouse move of a drag) would be a store change that every edge or node listening to it renders for.
const PRO_OPTIONS = { hideAttribution: false };
/** From this many nodes the canvas draws only the nodes and edges on screen. */
const CULL_FROM = 150;

const NO_NODES: FlowNode[] = [];
const NO_POSITIONS = {};
const NO_EDGES: LayerFlowEdge[] = [];
/** The view's fit: what View > Fit and the fit on loading a project use. */
const FIT = { padding: 0.15, maxZoom: 1.2 };
const MIN_ZOOM = 0.1;

/**
 * The view that fits `nodes` into a pane of `width` x `height`, from their positions and sizes (measured,
 * or the size they will have): known before they are drawn.
 */
function viewFor(nodes: readonly FlowNode[], width: number, height: number): Viewport | null {
  if (nodes.length === 0 || width <= 0 || height <= 0) return null;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const n of nodes) {
    const size = n.measured?.width && n.measured.height ? n.measured : n.width && n.height ? n : n.type === 'groupBox' ? GROUP_BOX_SIZE : LAYER_SIZE;
    x0 = Math.min(x0, n.position.x);
    y0 = Math.min(y0, n.position.y);
    x1 = Math.max(x1, n.position.x + (size.width ?? 0));
    y1 = Math.max(y1, n.position.y + (size.height ?? 0));
  }
  return getViewportForBounds({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, width, height, MIN_ZOOM, FIT.maxZoom, FIT.padding);
}

/** Adds one to a numeric data attribute of `el` (a counter the perf journeys read). */
function bump(el: HTMLElement | null, key: string): void {
  if (el) el.dataset[key] = String(Number(el.dataset[key] ?? 0) + 1);
}

export function Canvas() {
  const doc = useGraph((s) => s.doc);
  const selectedNodes = useGraph((s) => s.selectedNodes);
  const selectedEdges = useGraph((s) => s.selectedEdges);
  const measured = useGraph((s) => s.measured);
  const onNodesChange = useGraph((s) => s.onNodesChange);
  const onEdgesChange = useGraph((s) => s.onEdgesChange);
  const snap = useUi((s) => s.snapToGrid);
  const theme = useUi(resolvedTheme);
  const layoutBusy = useUi((s) => s.layoutsRunning > 0);
  const analysis = useAnalysis(doc);
  const model = useRef(createFlowModel()).current;
  const wrapper = useRef<HTMLDivElement>(null);
  const rf = useReactFlow();

  const nodes = useMemo(
    () => model.nodes({ doc, analysis, selectedNodes, selectedEdges, measured }),
    [model, doc, analysis, selectedNodes, selectedEdges, measured],
  );
  // Edges do not depend on positions: the mouse moves of a drag (which replace only positions) keep them.
  const { nodes: docNodes, edges: docEdges, groups: docGroups } = doc;
  const edges = useMemo(
    () => model.edges({ doc: { nodes: docNodes, edges: docEdges, positions: NO_POSITIONS, ...(docGroups ? { groups: docGroups } : {}) }, analysis, selectedNodes, selectedEdges, measured }),
    [model, docNodes, docEdges, docGroups, analysis, selectedNodes, selectedEdges, measured],
  );

  useEffect(() => {
    setViewBridge({
      // data-fits counts the fits done (the perf journeys wait on it: scripts/bench/ui/measure.ts).
      // A big graph jumps to the fit: an animation through other zooms draws and drops nodes on its way.
      fitView: () => rf.fitView({ ...FIT, duration: graphStore.getState().doc.nodes.length > CULL_FROM ? 0 : 200 }).then(() => bump(wrapper.current, 'fits')),
      zoomIn: () => void rf.zoomIn({ duration: 150 }),
      zoomOut: () => void rf.zoomOut({ duration: 150 }),
      resetZoom: () => void rf.zoomTo(1, { duration: 150 }),
      focusNode: (id) => void rf.fitView({ nodes: [{ id }], padding: 0.6, duration: 200, maxZoom: Math.max(1, rf.getZoom()) }),
      centre: () => {
        const r = wrapper.current?.getBoundingClientRect();
        return r ? rf.screenToFlowPosition({ x: r.left + r.width / 2, y: r.top + r.height / 2 }) : { x: 0, y: 0 };
      },
    });
    return () => setViewBridge(null);
  }, [rf]);

  // A loaded project's nodes are drawn once the view fits them (computed from their positions and sizes):
  // drawn first at the old view, they would be drawn again at the new zoom (a 500-node graph fitted is
  // zoomed far out, where nodes are drawn compact, LayerNode.tsx). One empty frame instead.
  const loadCount = useGraph((s) => s.loadCount);
  const [viewLoad, setViewLoad] = useState(-1);
  useEffect(() => {
    if (viewLoad === loadCount) return;
    const r = wrapper.current?.getBoundingClientRect();
    const view = viewFor(nodes, r?.width ?? 0, r?.height ?? 0);
    if (view) void rf.setViewport(view);
    setViewLoad(loadCount);
  }, [viewLoad, loadCount, nodes, rf]);
  const shown = viewLoad === loadCount;

  // Fit the view once per loaded project, when its nodes have been measured (a check of the view above);
  // never while editing. data-fitted on the canvas says which load it was fitted to (the perf journeys wait on it).
  const initialized = useNodesInitialized();
  const fitted = useRef(-1);
  const [fittedLoad, setFittedLoad] = useState(-1);
  useEffect(() => {
    if (fitted.current === loadCount || !shown) return;
    const done = () => setFittedLoad(loadCount);
    if (doc.nodes.length === 0) {
      fitted.current = loadCount;
      void rf.setViewport({ x: 0, y: 0, zoom: 1 }).then(done);
    } else if (initialized) {
      fitted.current = loadCount;
      void rf.fitView(FIT).then(done);
    }
  }, [loadCount, shown, initialized, doc.nodes.length, rf]);
  // Big graphs draw only what is on screen, but not before the loaded project's view is fitted: every node
  // is drawn once to be measured anyway, and culling at the default zoom would take most of them away only
  // to draw them again when the fit shows them all (500 nodes mounted twice on opening).
  const cull = doc.nodes.length > CULL_FROM && fittedLoad === loadCount;

  const onConnect = useCallback((c: Connection) => {
    const port = c.targetHandle?.startsWith('in-') ? Number(c.targetHandle.slice(3)) : undefined;
    const s = graphStore.getState();
    const result = connect(s.doc, { source: c.source, target: c.target, port });
    if (result.ok) {
      s.commit(result.doc, 'Connect');
    } else {
      uiStore.getState().notify('error', result.reason);
    }
  }, []);

  const onDragOver = useCallback((e: React.DragEvent) => {
    if (e.dataTransfer.types.includes(LAYER_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }, []);

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      const type = e.dataTransfer.getData(LAYER_MIME);
      if (!type || !getLayer(type)) return;
      e.preventDefault();
      const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      dispatch('addLayer', { type, position: { x: p.x - DEFAULT_NODE_SIZE.width / 2, y: p.y - 20 } });
    },
    [rf],
  );

  const minimapColor = useCallback((n: FlowNode) => (n.type === 'layer' ? categoryColor(n.data.def?.category) : n.type === 'groupBox' ? 'var(--accent)' : 'transparent'), []);
  const empty = doc.nodes.length === 0;

  return (
    <div className="lf-canvas" ref={wrapper} data-testid="canvas" data-load={loadCount} data-fitted={fittedLoad} data-layout={layoutBusy ? 'busy' : 'idle'}>
      <ReactFlow<FlowNode>
        nodes={shown ? nodes : NO_NODES}
        edges={shown ? edges : NO_EDGES}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onDrop={onDrop}
        onDragOver={onDragOver}
        colorMode={theme}
        snapToGrid={snap}
        snapGrid={SNAP}
        deleteKeyCode={null}
        selectionKeyCode={null}
        multiSelectionKeyCode={MULTI_KEYS}
        selectionOnDrag
        panOnDrag={PAN_BUTTONS}
        panActivationKeyCode="Space"
        zoomOnDoubleClick={false}
        minZoom={MIN_ZOOM}
        maxZoom={2.5}
        connectionRadius={28}
        onlyRenderVisibleElements={cull}
        proOptions={PRO_OPTIONS}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} />
        <MiniMap<FlowNode> pannable zoomable nodeColor={minimapColor} nodeBorderRadius={6} ariaLabel="Minimap" />
        <Controls showInteractive={false} position="bottom-left" />
      </ReactFlow>
      {empty && (
        <div className="lf-canvas-empty" data-testid="canvas-empty">
          <div className="lf-canvas-empty-title">Empty canvas</div>
          <div>Drag a layer from the palette, or double-click one. Start with an Input.</div>
        </div>
      )}
    </div>
  );
}
