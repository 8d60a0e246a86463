import { describe, expect, it } from 'vitest';
import { getLayer, LAYERS } from '../../../shared/layers';
import { layerFixtures } from './fixtures';
import { KERAS_LAYERS } from './keras/layers';
import { ONNX_LAYERS } from './onnx/layers';
import { PYTORCH_LAYERS } from './pytorch/layers';
import type { Coverage } from './types';

/**
 * Every registry layer type must be covered by every format's table, or listed there as unsupported
 * with a reason: adding a layer to shared/layers fails this test until its exports are written.
 */
const TABLES: Record<string, Record<string, Coverage<unknown>>> = { onnx: ONNX_LAYERS, pytorch: PYTORCH_LAYERS, keras: KERAS_LAYERS };

describe('export coverage of the layer registry', () => {
  for (const [format, table] of Object.entries(TABLES)) {
    it.each(LAYERS.map((l) => [l.type] as const))(`${format}: %s is exported or says why not`, (type) => {
      const entry = table[type];
      expect(entry, `${type} has no entry in the ${format} exporter table (main/engine/export/${format}/layers.ts)`).toBeDefined();
      if ('unsupported' in entry!) expect(entry.unsupported.length).toBeGreaterThan(10);
      else expect(typeof entry!.supported).toBe('function');
    });
  }
});

describe('export coverage of the Input kinds', () => {
  // the generic parity tests of every format run on layerFixtures(): a new kind of Input (as 'features'
  // was for tables) fails here until a fixture feeds it through the exporters
  const kind = getLayer('Input')!.params.kind!;
  const kinds = 'options' in kind ? [...kind.options] : [];
  it.each(kinds.map((k) => [k] as const))('Input kind %s has an export fixture', (k) => {
    expect(layerFixtures().some((f) => f.graph.nodes.some((n) => n.type === 'Input' && n.params.kind === k)), `no fixture in export/fixtures.ts has an Input of kind '${k}'`).toBe(true);
  });
});
