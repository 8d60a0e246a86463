/**
 * The layer registry: every layer type, one file each. Everything else (palette, inspector, shape
 * inference, engine, exporters) asks this registry instead of switching on type names.
 * Adding a layer = one file + one line here.
 */
import type { AnyLayerDef } from './define';
import { input } from './input';
import { conv2d } from './conv2d';
import { maxPool2d } from './maxPool2d';
import { flatten } from './flatten';
import { dense } from './dense';
import { add } from './add';

export const LAYERS: readonly AnyLayerDef[] = [
  input,
  conv2d,
  maxPool2d,
  flatten,
  dense,
  add,
];

const byType = new Map(LAYERS.map((l) => [l.type, l]));

export function getLayer(type: string): AnyLayerDef | undefined {
  return byType.get(type);
}

export function layerTypes(): string[] {
  return LAYERS.map((l) => l.type);
}

/** Default param values of a layer type. */
export function defaultParams(def: AnyLayerDef): Record<string, import('./params').ParamValue> {
  return Object.fromEntries(Object.entries(def.params).map(([k, spec]) => [k, structuredClone(spec.default)]));
}

export * from './define';
export * from './params';
