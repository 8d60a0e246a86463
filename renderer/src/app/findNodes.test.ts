import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseProjectText } from '../../../shared/project';
import { findNodes } from './findNodes';

const graph = parseProjectText(readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8')).graph;

describe('Find Layer', () => {
  it('lists every node for an empty query', () => {
    expect(findNodes(graph.nodes, '  ').map((m) => m.id)).toEqual(graph.nodes.map((n) => n.id));
  });

  it('matches names, types and palette labels, case-insensitively, every word', () => {
    const conv = findNodes(graph.nodes, 'CONV');
    expect(conv.length).toBeGreaterThanOrEqual(2);
    expect(conv.every((m) => m.type === 'Conv2D')).toBe(true);
    expect(findNodes(graph.nodes, 'dense').every((m) => m.type === 'Dense')).toBe(true);
    const label = findNodes(graph.nodes, 'max pool');
    expect(label.length).toBeGreaterThan(0);
    expect(label.every((m) => m.type === 'MaxPool2D')).toBe(true);
    expect(findNodes(graph.nodes, 'no such layer')).toEqual([]);
  });

  it('puts the exact name first, then names starting with the query', () => {
    const target = graph.nodes.find((n) => n.type === 'Conv2D')!;
    expect(findNodes(graph.nodes, target.name)[0]!.id).toBe(target.id);
  });
});
