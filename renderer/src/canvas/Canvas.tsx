import { useCallback, useEffect, useMemo, useRef } from 'react';
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
      fitView: () => void rf.fitView({ padding: 0.15, duration: 200, maxZoom: 1.2 }),
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
  const loadCount = useGraph((s) => s.loadCount);
  const initialized = useNodesInitialized();
  const fitted = useRef(-1);
  useEffect(() => {
    if (fitted.current === loadCount) return;
    if (doc.nodes.length === 0) {
      fitted.current = loadCount;
      void rf.setViewport({ x: 0, y: 0, zoom: 1 });
    } else if (initialized) {
      fitted.current = loadCount;
      void rf.fitView({ padding: 0.15, maxZoom: 1.2 });
    }
  }, [loadCount, initialized, doc.nodes.length, rf]);

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
    <div className="lf-canvas" ref={wrapper} data-testid="canvas">
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
        defaultEdgeOptions={{ type: 'smoothstep' }}
        onlyRenderVisibleElements={doc.nodes.length > 150}
        proOptions={{ hideAttribution: false }}
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
