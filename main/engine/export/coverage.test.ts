import { describe, expect, it } from 'vitest';
import { LAYERS } from '../../../shared/layers';
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
