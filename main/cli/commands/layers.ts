import { parseArgs } from 'node:util';
import { CATEGORIES, LAYERS } from '../../../shared/layers';
import type { CliCommand } from '../command';

export const layersCommand: CliCommand = {
  name: 'layers',
  summary: 'List every layer type in the registry.',
  usage: 'Usage: layerforge layers [--json]\n\n  --json   print the registry as JSON (types, params with defaults and ranges, inputs)',
  async run(args, io) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true });
    if (values.json) {
      const out = LAYERS.map((l) => ({
        type: l.type,
        category: l.category,
        label: l.label,
        description: l.description,
        inputs: { min: l.inputs.min, max: Number.isFinite(l.inputs.max) ? l.inputs.max : null, names: l.inputs.names ?? [] },
        params: Object.fromEntries(
          Object.entries(l.params).map(([k, spec]) => {
            const { when: _when, ...rest } = spec;
            return [k, rest];
          }),
        ),
      }));
      io.out(JSON.stringify(out, null, 2));
      return 0;
    }
    for (const cat of CATEGORIES) {
      const inCat = LAYERS.filter((l) => l.category === cat);
      if (!inCat.length) continue;
      io.out(`${cat}`);
      for (const l of inCat) io.out(`  ${l.type.padEnd(22)} ${l.description}`);
    }
    io.out(`\n${LAYERS.length} layer types.`);
    return 0;
  },
};
