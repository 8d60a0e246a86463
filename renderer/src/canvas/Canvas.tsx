import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useNodesInitialized,
  useReactFlow,
  type Connection,
  type NodeTypes,
} from '@xyflow/react';
import { getLayer } from '../../../shared/layers';
import { dispatch, setViewBridge } from '../actions';
import { connect } from '../store/document';
import { useAnalysis } from '../training/taskTarget';
import { graphStore, useGraph } from '../store/graphStore';
import { resolvedTheme, uiStore, useUi } from '../store/uiStore';
import { categoryColor } from './colors';
import { createFlowModel, type FlowNode } from './flowModel';
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
  const analysis = useAnalysis(doc);
  const model = useRef(createFlowModel()).current;
  const wrapper = useRef<HTMLDivElement>(null);
  const rf = useReactFlow();

  const nodes = useMemo(
    () => model.nodes({ doc, analysis, selectedNodes, selectedEdges, measured }),
    [model, doc, analysis, selectedNodes, selectedEdges, measured],
  );
  const edges = useMemo(
    () => model.edges({ doc, analysis, selectedNodes, selectedEdges, measured }),
    [model, doc, analysis, selectedNodes, selectedEdges, measured],
  );

  useEffect(() => {
    setViewBridge({
      // data-fits counts the fits done (the perf journeys wait on it: scripts/bench/ui/measure.ts).
      fitView: () => void rf.fitView({ padding: 0.15, duration: 200, maxZoom: 1.2 }).then(() => bump(wrapper.current, 'fits')),
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

  // Fit the view once per loaded project, when its nodes have been measured; never while editing.
  // data-fitted on the canvas says which load the view was fitted to (the perf journeys wait on it).
  const loadCount = useGraph((s) => s.loadCount);
  const initialized = useNodesInitialized();
  const fitted = useRef(-1);
  const [fittedLoad, setFittedLoad] = useState(-1);
  useEffect(() => {
    if (fitted.current === loadCount) return;
    const done = () => setFittedLoad(loadCount);
    if (doc.nodes.length === 0) {
      fitted.current = loadCount;
      void rf.setViewport({ x: 0, y: 0, zoom: 1 }).then(done);
    } else if (initialized) {
      fitted.current = loadCount;
      void rf.fitView({ padding: 0.15, maxZoom: 1.2 }).then(done);
    }
  }, [loadCount, initialized, doc.nodes.length, rf]);
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
    <div className="lf-canvas" ref={wrapper} data-testid="canvas" data-load={loadCount} data-fitted={fittedLoad}>
      <ReactFlow<FlowNode>
        nodes={nodes}
        edges={edges}
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
        minZoom={0.1}
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
