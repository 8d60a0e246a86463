/**
 * The summary image of a model: an SVG drawn from the document (node positions, the registry's
 * summary of each node's params, the analysis' output shapes and totals), not a screenshot of the
 * UI. Pure and deterministic: the same document gives the same bytes, in a light theme whatever the
 * app's theme, fitted to the graph's bounds. The PNG is this SVG rasterised (rasterize.ts).
 */
import { getLayer, type AnyLayerDef } from '../../../shared/layers';
import { formatShape } from '../../../shared/layers/shapeUtils';
import type { Analysis, XY } from '../../../shared/graph';
import { categoryColor } from '../canvas/colors';
import type { Doc, DocNode } from '../store/document';

/** Node box size in the image (the canvas draws nodes 210 px wide, about as tall). */
export const NODE_W = 210;
export const NODE_H = 88;
const MARGIN = 32;
const CAPTION_H = 30;
const RADIUS = 8;

export const FONT = "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
export const MONO = "'JetBrains Mono', 'SF Mono', Menlo, Consolas, 'DejaVu Sans Mono', monospace";

const THEME = {
  background: '#ffffff',
  nodeFill: '#ffffff',
  nodeStroke: '#c9ced8',
  text: '#1b1f27',
  text2: '#566070',
  muted: '#7b8494',
  rule: '#e1e4ea',
  edge: '#8a93a3',
  danger: '#d92d20',
  dangerFill: '#fdecea',
};

export interface SummaryOptions {
  /** Model name for the caption and the SVG title. */
  title?: string;
  /** A caption under the graph: name, layer count, parameters, FLOPs. Default true. */
  caption?: boolean;
}

export interface SummaryImage {
  svg: string;
  /** Size of the image in CSS pixels (the SVG's width and height). */
  width: number;
  height: number;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Coordinates with at most one decimal, so output does not depend on float noise. */
function n(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Approximate advance width of `text` in a proportional sans-serif (or monospace) font, in px. */
export function textWidth(text: string, fontSize: number, mono = false, bold = false): number {
  if (mono) return text.length * fontSize * 0.6;
  let em = 0;
  for (const ch of text) {
    if ('il.,:;|!\'`·'.includes(ch)) em += 0.28;
    else if ('fjrt()[] -'.includes(ch)) em += 0.36;
    else if ('mwMW@%'.includes(ch)) em += 0.86;
    else if (ch >= 'A' && ch <= 'Z') em += 0.66;
    else if (ch >= '0' && ch <= '9') em += 0.56;
    else if (ch === '×') em += 0.58;
    else em += 0.54;
  }
  return em * fontSize * (bold ? 1.06 : 1);
}

/** `text` cut with an ellipsis to fit `max` px. */
export function fitText(text: string, max: number, fontSize: number, mono = false, bold = false): string {
  if (textWidth(text, fontSize, mono, bold) <= max) return text;
  const chars = [...text];
  while (chars.length > 0 && textWidth(`${chars.join('')}…`, fontSize, mono, bold) > max) chars.pop();
  return `${chars.join('').trimEnd()}…`;
}

function summaryOf(def: AnyLayerDef | undefined, node: DocNode): string {
  if (!def) return '';
  try {
    const defaults = Object.fromEntries(Object.entries(def.params).map(([k, s]) => [k, s.default]));
    return def.summary({ ...defaults, ...node.params } as never);
  } catch {
    return '';
  }
}

function portCount(def: AnyLayerDef | undefined, used: number): number {
  if (!def) return Math.max(1, used);
  if (def.inputs.max !== Infinity) return def.inputs.max;
  return Math.max(def.inputs.min, used);
}

function formatNumber(v: number): string {
  return v.toLocaleString('en-US');
}

function formatFlops(f: number): string {
  if (f < 1e3) return `${f}`;
  if (f < 1e6) return `${(f / 1e3).toFixed(1)} K`;
  if (f < 1e9) return `${(f / 1e6).toFixed(1)} M`;
  return `${(f / 1e9).toFixed(2)} G`;
}

function bezierAt(p: XY[], t: number): XY {
  const u = 1 - t;
  const [a, b, c, d] = p as [XY, XY, XY, XY];
  return {
    x: u * u * u * a.x + 3 * u * u * t * b.x + 3 * u * t * t * c.x + t * t * t * d.x,
    y: u * u * u * a.y + 3 * u * u * t * b.y + 3 * u * t * t * c.y + t * t * t * d.y,
  };
}

interface Placed {
  node: DocNode;
  def: AnyLayerDef | undefined;
  at: XY;
  ports: number;
}

/** The summary image of `doc`. An empty document gives a small image saying so. */
export function buildSummarySvg(doc: Doc, analysis: Analysis, options: SummaryOptions = {}): SummaryImage {
  const caption = options.caption ?? true;
  const title = options.title ?? 'Model';

  const used = new Map<string, number>();
  for (const e of doc.edges) used.set(e.target, Math.max(used.get(e.target) ?? 0, e.targetPort + 1));
  const placed = new Map<string, Placed>();
  for (const node of doc.nodes) {
    const def = getLayer(node.type);
    placed.set(node.id, { node, def, at: doc.positions[node.id] ?? { x: 0, y: 0 }, ports: portCount(def, used.get(node.id) ?? 0) });
  }

  const errors = new Map<string, string>();
  const clashes = new Set<string>();
  for (const p of analysis.problems) {
    if (p.severity !== 'error') continue;
    if (p.nodeId && !errors.has(p.nodeId)) errors.set(p.nodeId, p.message);
    if (p.edgeId) clashes.add(p.edgeId);
  }

  // Edges: from the source's bottom centre to the target's input port on its top edge. An edge whose
  // curve would pass behind another node (a skip connection in a column) goes round the right-hand
  // side instead, from the source's side to the target's side, as ResNet figures draw them.
  const boxes = [...placed.values()];
  const hits = (pt: XY, skip: Placed[]) =>
    boxes.some((b) => !skip.includes(b) && pt.x > b.at.x - 2 && pt.x < b.at.x + NODE_W + 2 && pt.y > b.at.y - 2 && pt.y < b.at.y + NODE_H + 2);
  const edgePaths: Array<{ id: string; clash: boolean; points: XY[]; d: (ox: number, oy: number) => string }> = [];
  const detours: Array<{ id: string; clash: boolean; s: Placed; t: Placed; y1: number; y2: number; base: number; port: number }> = [];
  for (const e of doc.edges) {
    const s = placed.get(e.source);
    const t = placed.get(e.target);
    if (!s || !t) continue;
    const sx = s.at.x + NODE_W / 2;
    const sy = s.at.y + NODE_H;
    const tx = t.at.x + (NODE_W * (e.targetPort + 1)) / (t.ports + 1);
    const ty = t.at.y - 5; // stop short of the node so the arrow head shows
    // Control handles half the gap (capped), so short hops stay inside the gap instead of looping.
    const dy = ty > sy ? Math.min(60, Math.max(6, (ty - sy) / 2)) : 40;
    const points = [
      { x: sx, y: sy },
      { x: sx, y: sy + dy },
      { x: tx, y: ty - dy },
      { x: tx, y: ty },
    ];
    let blocked = false;
    for (let k = 1; k < 20 && !blocked; k++) blocked = hits(bezierAt(points, k / 20), [s, t]);
    if (blocked) {
      const y1 = Math.min(s.at.y, t.at.y) + NODE_H / 2;
      const y2 = Math.max(s.at.y, t.at.y) + NODE_H / 2;
      // The lane runs right of the source and of every box in the way (the target too, unless it sits further right).
      const inSpan = boxes.filter((b) => b !== t && b.at.y + NODE_H > y1 && b.at.y < y2).map((b) => b.at.x + NODE_W);
      const base = Math.max(s.at.x + NODE_W, ...inSpan);
      detours.push({ id: e.id, clash: clashes.has(e.id), s, t, y1, y2, base, port: tx });
      continue;
    }
    const [a, b, c, d] = points;
    edgePaths.push({
      id: e.id,
      clash: clashes.has(e.id),
      points,
      d: (ox, oy) => `M${n(a!.x + ox)},${n(a!.y + oy)} C${n(b!.x + ox)},${n(b!.y + oy)} ${n(c!.x + ox)},${n(c!.y + oy)} ${n(d!.x + ox)},${n(d!.y + oy)}`,
    });
  }
  // Detours get lanes: shortest first, each in the first lane free over its vertical span.
  const lanes: Array<Array<[number, number]>> = [];
  detours.sort((a, b) => a.y2 - a.y1 - (b.y2 - b.y1) || a.y1 - b.y1 || a.id.localeCompare(b.id));
  for (const dt of detours) {
    let lane = lanes.findIndex((spans) => spans.every(([a, b]) => dt.y2 < a - 12 || dt.y1 > b + 12));
    if (lane < 0) lane = lanes.push([]) - 1;
    lanes[lane]!.push([dt.y1, dt.y2]);
    const sx = dt.s.at.x + NODE_W;
    const sy = dt.s.at.y + NODE_H / 2;
    const r = 10;
    const sideEntry = dt.t.at.x <= dt.base + 22 + 14 * lane;
    const x = (sideEntry ? Math.max(dt.base, dt.t.at.x + NODE_W) : dt.base) + 22 + 14 * lane;
    const f = (px: number, py: number, ox: number, oy: number) => `${n(px + ox)},${n(py + oy)}`;
    if (sideEntry) {
      // Into the target's right side, at mid-height.
      const tx = dt.t.at.x + NODE_W + 5;
      const ty = dt.t.at.y + NODE_H / 2;
      const rr = Math.min(r, Math.abs(ty - sy) / 2);
      const down = ty >= sy ? 1 : -1;
      edgePaths.push({
        id: dt.id,
        clash: dt.clash,
        points: [
          { x: sx, y: sy },
          { x, y: sy },
          { x, y: ty },
          { x: tx, y: ty },
        ],
        d: (ox, oy) =>
          `M${f(sx, sy, ox, oy)} H${n(x - rr + ox)} Q${f(x, sy, ox, oy)} ${f(x, sy + down * rr, ox, oy)} V${n(ty - down * rr + oy)} Q${f(x, ty, ox, oy)} ${f(x - rr, ty, ox, oy)} H${n(tx + ox)}`,
      });
    } else {
      // The target sits right of the lane: down the lane, then across above the target into its input port.
      const tx = dt.port;
      const ty = dt.t.at.y - 5;
      const hy = dt.t.at.y - 16;
      edgePaths.push({
        id: dt.id,
        clash: dt.clash,
        points: [
          { x: sx, y: sy },
          { x, y: sy },
          { x, y: hy },
          { x: tx, y: hy },
          { x: tx, y: ty },
        ],
        d: (ox, oy) =>
          `M${f(sx, sy, ox, oy)} H${n(x - r + ox)} Q${f(x, sy, ox, oy)} ${f(x, sy + r, ox, oy)} V${n(hy - r + oy)} Q${f(x, hy, ox, oy)} ${f(x + r, hy, ox, oy)} H${n(tx - 6 + ox)} Q${f(tx, hy, ox, oy)} ${f(tx, hy + 6, ox, oy)} V${n(ty + oy)}`,
      });
    }
  }
  edgePaths.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  // Bounds: every node box and every edge's control points (a Bézier stays inside its control hull).
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const grow = (x: number, y: number) => {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  };
  for (const p of placed.values()) {
    grow(p.at.x, p.at.y);
    grow(p.at.x + NODE_W, p.at.y + NODE_H);
  }
  for (const e of edgePaths) for (const p of e.points) grow(p.x, p.y);
  if (placed.size === 0) {
    minX = 0;
    minY = 0;
    maxX = 320;
    maxY = 60;
  }

  const captionText = caption
    ? `${title} — ${doc.nodes.length} layer${doc.nodes.length === 1 ? '' : 's'} · ${formatNumber(analysis.totals.params)} parameters · ${formatFlops(analysis.totals.flops)}FLOPs per sample`
    : '';
  const graphW = maxX - minX;
  const captionW = caption ? textWidth(captionText, 13) : 0;
  const width = Math.ceil(Math.max(graphW, captionW) + 2 * MARGIN);
  const height = Math.ceil(maxY - minY + 2 * MARGIN + (caption ? CAPTION_H : 0));
  const ox = MARGIN - minX + Math.max(0, (captionW - graphW) / 2);
  const oy = MARGIN - minY;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(FONT)}">`,
    `<title>${escapeXml(title)}</title>`,
    '<defs>',
    `<clipPath id="lf-node-clip"><rect width="${NODE_W}" height="${NODE_H}" rx="${RADIUS}"/></clipPath>`,
    `<marker id="lf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5.5" markerHeight="5.5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${THEME.edge}"/></marker>`,
    `<marker id="lf-arrow-clash" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5.5" markerHeight="5.5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${THEME.danger}"/></marker>`,
    '</defs>',
    `<rect width="${width}" height="${height}" fill="${THEME.background}"/>`,
    '<g class="lf-edges" fill="none" stroke-width="1.6" stroke-linecap="round">',
  );
  for (const e of edgePaths) {
    out.push(
      `<path data-edge="${escapeXml(e.id)}" d="${e.d(ox, oy)}" stroke="${e.clash ? THEME.danger : THEME.edge}"${e.clash ? ' stroke-dasharray="5 4"' : ''} marker-end="url(#${e.clash ? 'lf-arrow-clash' : 'lf-arrow'})"/>`,
    );
  }
  out.push('</g>', '<g class="lf-nodes">');
  for (const p of placed.values()) out.push(nodeSvg(p, { x: p.at.x + ox, y: p.at.y + oy }, analysis, errors.get(p.node.id)));
  out.push('</g>');
  if (placed.size === 0) {
    out.push(`<text x="${MARGIN}" y="${MARGIN + 34}" font-size="13" fill="${THEME.muted}">Empty model: add layers to the canvas.</text>`);
  }
  if (caption) {
    out.push(`<text class="lf-caption" x="${MARGIN}" y="${height - MARGIN + 4}" font-size="13" fill="${THEME.text2}">${escapeXml(captionText)}</text>`);
  }
  out.push('</svg>');
  return { svg: `${out.join('\n')}\n`, width, height };
}

function nodeSvg(p: Placed, at: XY, analysis: Analysis, error: string | undefined): string {
  const { node, def } = p;
  const color = error ? THEME.danger : categoryColor(def?.category);
  const info = analysis.nodes[node.id];
  const typeLabel = def?.label ?? node.type;
  const summary = summaryOf(def, node);
  const inner = NODE_W - 24;
  // Long names get a smaller font before they get an ellipsis (the full name stays in the node's <title>).
  let nameSize = 13;
  while (nameSize > 10.5 && textWidth(node.name, nameSize, false, true) > NODE_W - 36) nameSize -= 0.5;
  const name = fitText(node.name, NODE_W - 36, nameSize, false, true);
  const typeText = fitText(typeLabel, inner, 12, false, true);
  const summaryText = summary ? fitText(` · ${summary}`, Math.max(0, inner - textWidth(typeText, 12, false, true)), 12) : '';
  const parts: string[] = [
    `<g class="lf-node" data-node="${escapeXml(node.name)}" data-type="${escapeXml(node.type)}" transform="translate(${n(at.x)},${n(at.y)})">`,
    `<title>${escapeXml(`${node.name} (${typeLabel})`)}</title>`,
    `<rect width="${NODE_W}" height="${NODE_H}" rx="${RADIUS}" fill="${error ? THEME.dangerFill : THEME.nodeFill}" stroke="${error ? THEME.danger : THEME.nodeStroke}"/>`,
    `<rect width="${NODE_W}" height="4" fill="${color}" clip-path="url(#lf-node-clip)"/>`,
    `<circle cx="16" cy="21" r="4" fill="${color}"/>`,
    `<text x="26" y="25.5" font-size="${nameSize}" font-weight="600" fill="${THEME.text}">${escapeXml(name)}</text>`,
    `<text x="12" y="45" font-size="12"><tspan font-weight="600" fill="${color}">${escapeXml(typeText)}</tspan>${summaryText ? `<tspan fill="${THEME.text2}">${escapeXml(summaryText)}</tspan>` : ''}</text>`,
    `<line x1="10" x2="${NODE_W - 10}" y1="56.5" y2="56.5" stroke="${THEME.rule}" stroke-dasharray="3 3"/>`,
  ];
  if (error) {
    const message = error.startsWith(`${node.name}: `) ? error.slice(node.name.length + 2) : error;
    parts.push(`<text x="12" y="75" font-size="11.5" fill="${THEME.danger}">${escapeXml(fitText(message, inner, 11.5))}</text>`);
  } else {
    const shape = info?.shape ? formatShape(info.shape) : '?';
    const params = info && info.params > 0 ? `${formatNumber(info.params)} params` : '';
    const paramsW = params ? textWidth(params, 11, true) + 10 : 0;
    parts.push(`<text x="12" y="75" font-size="12" font-family="${escapeXml(MONO)}" font-weight="600" fill="${THEME.text}">${escapeXml(fitText(shape, inner - paramsW, 12, true, true))}</text>`);
    if (params) parts.push(`<text x="${NODE_W - 12}" y="75" font-size="11" font-family="${escapeXml(MONO)}" text-anchor="end" fill="${THEME.muted}">${escapeXml(params)}</text>`);
  }
  parts.push('</g>');
  return parts.join('');
}
