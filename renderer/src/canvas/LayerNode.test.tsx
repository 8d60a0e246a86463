import { renderToStaticMarkup } from 'react-dom/server';
import { ReactFlowProvider } from '@xyflow/react';
import { describe, expect, it } from 'vitest';
import type { LayerNodeData } from './flowModel';
import { COMPACT_ZOOM, LayerNode } from './LayerNode';

const data = (ports: string[], over: Partial<LayerNodeData> = {}): LayerNodeData => ({
  node: { id: 'n1', name: 'merge', type: 'Add', params: {}, position: { x: 0, y: 0 } } as unknown as LayerNodeData['node'],
  def: undefined,
  summary: '',
  shape: '8',
  params: 0,
  error: null,
  ports,
  ...over,
});

/** The node's markup at zoom 1, or zoomed out below COMPACT_ZOOM (a 10,000 px node fitted into 100 px). */
function render(d: LayerNodeData, compact: boolean): string {
  const zoomedOut = { initialNodes: [{ id: 'big', position: { x: 0, y: 0 }, data: {}, width: 10_000, height: 10_000 }], fitView: true, initialWidth: 100, initialHeight: 100, initialMinZoom: COMPACT_ZOOM / 1000 };
  const props = { id: 'n1', data: d, selected: false, type: 'layer' } as unknown as Parameters<typeof LayerNode>[0];
  return renderToStaticMarkup(
    <ReactFlowProvider {...(compact ? zoomedOut : {})}>
      <LayerNode {...props} />
    </ReactFlowProvider>,
  );
}

const testIds = (html: string, prefix: string) => [...html.matchAll(/data-testid="([^"]+)"/g)].map((m) => m[1]!).filter((t) => t.startsWith(prefix));

describe('LayerNode: the same box and handles compact or full', () => {
  for (const ports of [[], ['input'], ['a', 'b', 'c']]) {
    it(`${ports.length} input port(s): one input handle per port, one output handle, in both drawings`, () => {
      const full = render(data(ports), false), compact = render(data(ports), true);
      expect(compact).toContain('lf-node compact');
      expect(full).not.toContain('compact');
      const want = ports.map((_, i) => `handle-in-merge-${i}`);
      for (const html of [full, compact]) {
        expect(testIds(html, 'handle-in-')).toEqual(want);
        expect(testIds(html, 'handle-out-')).toEqual(['handle-out-merge']);
        expect(testIds(html, 'node-merge')).toEqual(['node-merge']);
      }
      // Port names are written next to the handles only on a full node with several inputs.
      expect(full.includes('lf-port-label')).toBe(ports.length > 1);
      expect(compact).not.toContain('lf-port-label');
      expect(full).toContain('node-summary');
      expect(compact).not.toContain('node-summary');
    });
  }

  it('marks frozen and invalid nodes on the box in both drawings', () => {
    const d = data(['input'], { params: 10, error: 'bad shape', node: { id: 'n1', name: 'merge', type: 'Add', params: {}, position: { x: 0, y: 0 }, trainable: false } as unknown as LayerNodeData['node'] });
    for (const html of [render(d, false), render(d, true)]) {
      expect(html).toMatch(/class="lf-node[^"]* invalid frozen"/);
      expect(html).toContain('data-frozen="true"');
    }
  });
});
