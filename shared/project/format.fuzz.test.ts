/**
 * Fuzz: every malformed project input either parses to a valid project (that then round-trips) or throws a
 * ProjectFileError; never another error type, never a hang, never a polluted Object.prototype.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMutations, byteMutation, FuzzTally, mutateBytes, mutationPlans, nest, prototypeKeys } from '../../scripts/security/fuzz';
import { parseProject, parseProjectText, ProjectFileError, serializeProject, type ProjectFile } from './index';

const templatesDir = fileURLToPath(new URL('../../resources/templates/', import.meta.url));
const templates = readdirSync(templatesDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, text: readFileSync(join(templatesDir, f), 'utf8') }));
const tally = new FuzzTally('project files (parseProjectText / parseProject)');
const protoBefore = prototypeKeys();
afterAll(() => tally.report());

let slowest = 0;
/** Runs one input; returns 'ok' or 'rejected', fails the property on any other outcome. */
function check(run: () => ProjectFile, kind: string): 'ok' | 'rejected' {
  tally.add(kind);
  const t = performance.now();
  try {
    const p = run();
    // Whatever parses must serialize and parse back to the same thing.
    expect(parseProjectText(serializeProject(p))).toEqual(p);
    return 'ok';
  } catch (error) {
    if (!(error instanceof ProjectFileError)) {
      throw new Error(`${kind}: expected a ProjectFileError, got ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack?.split("\n").slice(1, 6).join("\n")}` : String(error)}`);
    }
    expect(error.message.length).toBeGreaterThan(0);
    return 'rejected';
  } finally {
    slowest = Math.max(slowest, performance.now() - t);
  }
}

describe('project file parser under fuzzing', () => {
  it('every template parses as it is (the fuzz seeds are valid)', () => {
    expect(templates.length).toBeGreaterThan(0);
    for (const t of templates) expect(check(() => parseProjectText(t.text, t.file), 'template')).toBe('ok');
  });

  it('random text', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), (text) => {
      check(() => parseProjectText(text), 'random text');
    }), { numRuns: 600 });
  });

  it('random JSON values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
      check(() => parseProjectText(JSON.stringify(v) ?? 'null'), 'random JSON');
    }), { numRuns: 600 });
  });

  it('random JS values (incl. __proto__ keys, undefined, NaN) to parseProject', () => {
    fc.assert(fc.property(fc.anything({ withObjectString: true, withNullPrototype: true, withBoxedValues: true, maxDepth: 4 }), (v) => {
      check(() => parseProject(v), 'random JS value');
    }), { numRuns: 500 });
  });

  it('templates with structural mutations (wrong types, NaN-ish, huge, negative, missing fields, unknown types, __proto__)', () => {
    let ok = 0;
    fc.assert(fc.property(fc.constantFrom(...templates), mutationPlans(4), fc.boolean(), (t, plans, viaText) => {
      const doc = applyMutations(JSON.parse(t.text), plans);
      const r = viaText
        ? check(() => parseProjectText(JSON.stringify(doc) ?? 'null', t.file), 'mutated template (text)')
        : check(() => parseProject(doc, t.file), 'mutated template (object)');
      if (r === 'ok') ok++;
    }), { numRuns: 2500 });
    console.log(`[fuzz] mutated templates that still parsed: ${ok} of 2500`);
  });

  it('templates with byte mutations (truncated, flipped, inserted bytes)', () => {
    fc.assert(fc.property(fc.constantFrom(...templates), fc.array(byteMutation, { minLength: 1, maxLength: 5 }), (t, muts) => {
      const bytes = mutateBytes(new TextEncoder().encode(t.text), muts);
      check(() => parseProjectText(new TextDecoder().decode(bytes), t.file), 'byte-mutated template');
    }), { numRuns: 1000 });
  });

  it('deep nesting anywhere (arrays and objects thousands of levels deep)', () => {
    const base = JSON.parse(templates[0]!.text) as Record<string, unknown>;
    for (const depth of [100, 5_000, 50_000]) {
      const deepArray = '['.repeat(depth) + ']'.repeat(depth);
      const deepObject = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      check(() => parseProjectText(deepArray), 'deep nesting');
      check(() => parseProjectText(deepObject), 'deep nesting');
      check(() => parseProjectText(`{"format":"layerforge-project","version":1,"name":"x","graph":${deepObject}}`), 'deep nesting');
      const withDeepParam = structuredClone(base) as { graph: { nodes: { params: Record<string, unknown> }[] } };
      withDeepParam.graph.nodes[0]!.params.height = nest(Math.min(depth, 5_000));
      check(() => parseProject(withDeepParam), 'deep nesting');
      const baseText = JSON.stringify(base);
      check(() => parseProjectText(`${baseText.slice(0, -1)},"extra":${deepObject}}`), 'deep nesting');
      check(() => parseProjectText(`${baseText.slice(0, -1)},"description":${deepArray}}`), 'deep nesting');
    }
  });

  it('huge inputs are refused or parsed, not hung on', () => {
    const base = JSON.parse(templates[0]!.text) as { graph: { nodes: unknown[]; edges: unknown[] }; name: string };
    const many = structuredClone(base);
    many.graph.nodes = Array.from({ length: 20_001 }, (_, i) => ({ id: `n${i}`, type: 'Dense', name: `d${i}` }));
    check(() => parseProject(many), 'huge');
    const longName = { ...structuredClone(base), name: 'x'.repeat(5_000_000) };
    check(() => parseProject(longName), 'huge');
    check(() => parseProjectText(`${' '.repeat(1_000_000)}${JSON.stringify(base)}`), 'huge');
  });

  it('never touched Object.prototype; reports the slowest case', () => {
    expect(prototypeKeys()).toBe(protoBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    console.log(`[fuzz] project parser: slowest single case ${slowest.toFixed(1)} ms`);
  });
});
