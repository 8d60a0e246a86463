import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { parseProjectText } from '../../../shared/project';
import { analyzeGraph } from '../../../shared/graph';
import { docFromGraph, graphFromDoc, moveNodes, renameNode, setParam, type Doc } from '../store/document';
import { buildSummarySvg, escapeXml, fitText, NODE_H, NODE_W, textWidth } from './summarySvg';

const TEMPLATES = new URL('../../../resources/templates/', import.meta.url);

function template(name: string): Doc {
  return docFromGraph(parseProjectText(readFileSync(new URL(name, TEMPLATES), 'utf8')).graph);
}

function svgOf(doc: Doc, title = 'Test model') {
  return buildSummarySvg(doc, analyzeGraph(graphFromDoc(doc)), { title });
}

/** Checks that every opened tag is closed in order (a small well-formedness test without a DOM). */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, close, tag, , selfClose] = m;
    if (selfClose) continue;
    if (close) {
      const open = stack.pop();
      if (open !== tag) throw new Error(`</${tag}> closes <${open}>`);
    } else stack.push(tag!);
  }
  expect(stack).toEqual([]);
  // No raw ampersands outside entities.
  expect(svg.replace(/&(amp|lt|gt|quot|apos);/g, '')).not.toMatch(/&/);
}

describe('summary SVG', () => {
  it('draws every node (name, type, key params, shape, params) and every edge of each template', () => {
    for (const file of readdirSync(TEMPLATES).filter((f) => f.endsWith('.json'))) {
      const doc = template(file);
      const analysis = analyzeGraph(graphFromDoc(doc));
      const { svg } = buildSummarySvg(doc, analysis, { title: file });
      assertBalanced(svg);
      expect(svg.match(/<g class="lf-node"/g)?.length, file).toBe(doc.nodes.length);
      expect(svg.match(/<path data-edge=/g)?.length ?? 0, file).toBe(doc.edges.length);
      for (const node of doc.nodes) {
        expect(svg, `${file}: ${node.name}`).toContain(`data-node="${escapeXml(node.name)}"`);
        expect(svg, `${file}: ${node.name}`).toContain(`>${escapeXml(node.name)}</text>`);
      }
    }
  });

  it('shows the CIFAR-10 CNN shapes, parameter counts and the 315,722 total', () => {
    const doc = template('cifar10-cnn.json');
    const { svg } = svgOf(doc, 'CIFAR-10 CNN');
    expect(svg).toContain('>30×30×32</text>');
    expect(svg).toContain('>896 params</text>');
    expect(svg).toContain('Conv 2D');
    expect(svg).toContain('CIFAR-10 CNN — ');
    expect(svg).toContain('315,722 parameters');
    expect(svg).toContain('<title>CIFAR-10 CNN</title>');
  });

  it('is fitted to the graph bounds and light whatever the app theme', () => {
    const doc = template('lenet5.json');
    const xs = doc.nodes.map((n) => doc.positions[n.id]!.x);
    const ys = doc.nodes.map((n) => doc.positions[n.id]!.y);
    const graphW = Math.max(...xs) + NODE_W - Math.min(...xs);
    const graphH = Math.max(...ys) + NODE_H - Math.min(...ys);
    const { svg, width, height } = buildSummarySvg(doc, analyzeGraph(graphFromDoc(doc)), { caption: false });
    // A straight chain: edges stay between the boxes, so the image is the boxes plus a 32 px margin.
    expect(width).toBe(Math.ceil(graphW + 64));
    expect(height).toBe(Math.ceil(graphH + 64));
    expect(svg).toContain(`width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"`);
    expect(svg).toContain(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
    // Moving the whole graph far away changes nothing but… nothing: the image is relative to its bounds.
    const moved = moveNodes(doc, Object.fromEntries(doc.nodes.map((n) => [n.id, { x: doc.positions[n.id]!.x + 5000, y: doc.positions[n.id]!.y - 3000 }])));
    const again = buildSummarySvg(moved, analyzeGraph(graphFromDoc(moved)), { caption: false });
    expect(again.svg).toBe(svg);
  });

  it('is deterministic, and follows the document', () => {
    const doc = template('resnet-small.json');
    expect(svgOf(doc).svg).toBe(svgOf(doc).svg);
    const first = doc.nodes[1]!;
    const renamed = renameNode(doc, first.id, 'my_block');
    expect(svgOf(renamed).svg).toContain('data-node="my_block"');
    expect(svgOf(renamed).svg).not.toContain(`data-node="${first.name}"`);
  });

  it('routes a skip connection round the side instead of behind the nodes in its column', () => {
    // resnet-small: one column at x=0, skips e10 (activation_1 -> add_1) and e18 (activation_3 -> add_2) jump
    // over six nodes; e25 goes from the column to conv2d_8 at x=280 (the projection of the third block).
    const doc = template('resnet-small.json');
    const { svg, width } = svgOf(doc);
    const d = Object.fromEntries([...svg.matchAll(/<path data-edge="([^"]+)" d="([^"]+)"/g)].map((m) => [m[1]!, m[2]!]));
    const detours = Object.keys(d).filter((id) => d[id]!.includes(' V')).sort();
    expect(detours).toEqual(['e10', 'e18', 'e25']);
    // Direct hops stay single Bézier curves.
    for (const id of Object.keys(d)) if (!detours.includes(id)) expect(d[id]).toMatch(/^M[\d.,-]+ C[\d.,-]+ [\d.,-]+ [\d.,-]+$/);
    // The skips run in a lane right of the column (x 32..242 in the image) and end at the Add's right side.
    const lane = (path: string) => Number(/V/.test(path) && / Q([\d.]+),/.exec(path)![1]);
    expect(lane(d.e10!)).toBeGreaterThan(32 + NODE_W);
    expect(d.e10!.endsWith(`H${32 + NODE_W + 5}`)).toBe(true);
    // e25 passes right of the column, then left of conv2d_8 (x 312..522), and comes down into its top.
    expect(lane(d.e25!)).toBeGreaterThan(32 + NODE_W);
    expect(lane(d.e25!)).toBeLessThan(32 + 280);
    expect(d.e25).toMatch(/V[\d.]+$/);
    expect(width).toBe(32 + 280 + NODE_W + 32);
  });

  it('escapes names', () => {
    let doc = template('cifar10-cnn.json');
    const conv = doc.nodes.find((n) => n.type === 'Conv2D')!;
    doc = renameNode(doc, conv.id, 'a<b>&"c"');
    const { svg } = svgOf(doc);
    assertBalanced(svg);
    expect(svg).toContain('data-node="a&lt;b&gt;&amp;&quot;c&quot;"');
    expect(svg).not.toContain('a<b>');
  });

  it('marks an invalid node in red with its error instead of the shape', () => {
    let doc = template('cifar10-cnn.json');
    const conv = doc.nodes.find((n) => n.type === 'Conv2D')!;
    doc = setParam(doc, conv.id, 'kernelSize', 40);
    const analysis = analyzeGraph(graphFromDoc(doc));
    expect(analysis.valid).toBe(false);
    const { svg } = buildSummarySvg(doc, analysis);
    assertBalanced(svg);
    const node = svg.split('\n').find((l) => l.includes(`data-node="${conv.name}"`))!;
    expect(node).toContain('stroke="#d92d20"');
    expect(node).toMatch(/kernel/i);
    expect(node).not.toContain('30×30×32');
    const fine = svg.split('\n').find((l) => l.includes(`data-node="${doc.nodes[0]!.name}"`))!;
    expect(fine).not.toContain('#d92d20');
  });

  it('says so for an empty model', () => {
    const empty: Doc = { nodes: [], edges: [], positions: {} };
    const { svg, width, height } = svgOf(empty);
    assertBalanced(svg);
    expect(svg).toContain('Empty model');
    expect(width).toBeGreaterThan(100);
    expect(height).toBeGreaterThan(50);
  });
});

describe('text fitting', () => {
  it('keeps short text and cuts long text with an ellipsis to the width', () => {
    expect(fitText('dense_1', 100, 13)).toBe('dense_1');
    const long = 'a_very_long_layer_name_that_does_not_fit_in_a_node';
    const cut = fitText(long, 150, 13);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut.length).toBeLessThan(long.length);
    expect(textWidth(cut, 13)).toBeLessThanOrEqual(150);
    expect(textWidth('WWW', 12)).toBeGreaterThan(textWidth('iii', 12));
    expect(textWidth('abc', 12, true)).toBeCloseTo(3 * 7.2);
  });
});
