import { describe, expect, it } from 'vitest';
import type { GraphEdge } from '../../../shared/graph';
import { fastLayeredLayout } from './fastLayout';

const size = () => ({ width: 210, height: 84 });
const edge = (source: string, target: string, targetPort = 0): GraphEdge => ({ id: `${source}-${target}`, source, target, targetPort });

/** A residual stack like the bench's 500-node graph: input, then blocks of conv -> conv -> add(skip). */
function residualStack(blocks: number): { ids: string[]; edges: GraphEdge[] } {
  const ids = ['input'];
  const edges: GraphEdge[] = [];
  let prev = 'input';
  for (let b = 0; b < blocks; b++) {
    const [c1, c2, add] = [`c${b}a`, `c${b}b`, `add${b}`];
    ids.push(c1, c2, add);
    edges.push(edge(prev, c1), edge(c1, c2), edge(c2, add, 0), edge(prev, add, 1));
    prev = add;
  }
  return { ids, edges };
}

function expectLayered(ids: readonly string[], edges: readonly GraphEdge[], pos: Record<string, { x: number; y: number }>): void {
  expect(Object.keys(pos).sort()).toEqual([...ids].sort());
  for (const e of edges) expect(pos[e.target]!.y, `${e.source} -> ${e.target} points down`).toBeGreaterThan(pos[e.source]!.y);
  // No two nodes of one layer overlap (and they keep the 40 px gap).
  const byY = new Map<number, number[]>();
  for (const id of ids) byY.set(pos[id]!.y, [...(byY.get(pos[id]!.y) ?? []), pos[id]!.x]);
  for (const xs of byY.values()) {
    xs.sort((a, b) => a - b);
    for (let i = 1; i < xs.length; i++) expect(xs[i]! - xs[i - 1]!).toBeGreaterThanOrEqual(210 + 40 - 1);
  }
}

describe('fastLayeredLayout', () => {
  it('lays a 500-node residual stack out in layers, edges pointing down, no overlaps', () => {
    const { ids, edges } = residualStack(166);
    const t0 = performance.now();
    const pos = fastLayeredLayout(ids, edges, size);
    console.log(`fastLayeredLayout: ${ids.length} nodes in ${(performance.now() - t0).toFixed(1)} ms`);
    expectLayered(ids, edges, pos);
    // The trunk (the adds, joined by the skip edges) stays in one column, no drift over 166 blocks ...
    expect(pos.add10!.x).toBe(pos.add9!.x);
    expect(pos.add165!.x).toBe(pos.add0!.x);
    // ... and each block's branch sits beside it, clear of the skip edge drawn down the trunk's centre.
    for (const b of [0, 10, 165]) {
      const trunkCentre = pos[`add${b}`]!.x + 105;
      expect(pos[`c${b}a`]!.x).toBeGreaterThan(trunkCentre);
      expect(pos[`c${b}b`]!.x).toBeGreaterThan(trunkCentre);
    }
  });

  it('puts branches side by side and merges them under their inputs', () => {
    const ids = ['in', 'a', 'b', 'c', 'merge', 'out'];
    const edges = [edge('in', 'a'), edge('in', 'b'), edge('in', 'c'), edge('a', 'merge', 0), edge('b', 'merge', 1), edge('c', 'merge', 2), edge('merge', 'out')];
    const pos = fastLayeredLayout(ids, edges, size);
    expectLayered(ids, edges, pos);
    expect(new Set([pos.a!.y, pos.b!.y, pos.c!.y]).size).toBe(1);
    expect(pos.a!.x).toBeLessThan(pos.b!.x);
    expect(pos.b!.x).toBeLessThan(pos.c!.x);
    // The merge is centred under its three inputs.
    expect(Math.abs(pos.merge!.x - pos.b!.x)).toBeLessThanOrEqual(1);
  });

  it('places disconnected nodes and a (never valid) cycle without hanging', () => {
    const ids = ['x', 'y', 'lonely', 'p', 'q'];
    const edges = [edge('x', 'y'), edge('p', 'q'), edge('q', 'p')];
    const pos = fastLayeredLayout(ids, edges, size);
    expect(Object.keys(pos).sort()).toEqual([...ids].sort());
    expect(pos.y!.y).toBeGreaterThan(pos.x!.y);
  });

  it('is deterministic', () => {
    const { ids, edges } = residualStack(20);
    expect(fastLayeredLayout(ids, edges, size)).toEqual(fastLayeredLayout(ids, edges, size));
  });
});
