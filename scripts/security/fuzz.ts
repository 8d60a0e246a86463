/**
 * Shared pieces of the fuzz tests (*.fuzz.test.ts): nasty values, structural mutations of valid JSON
 * documents, byte mutations of valid files, and a tally of what was run (printed, and appended as one
 * JSON line to $LF_FUZZ_REPORT when set, so a whole `vitest run` can be summed up).
 */
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

/** Values that break naive code: NaN-ish, huge, negative, wrong types, prototype keys, deep nesting. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null, true, false, 0, -0, -1, -1e9, 1e308, -1e308, 2 ** 53 + 1, 0.5, 1e-320, '', ' ', 'NaN', 'Infinity', '-1', '1e999',
    '__proto__', 'constructor', 'toString', 'hasOwnProperty', '..', '../../etc/passwd', '\u0000', '\ud800', 'é', [], {}, [[]], [null], [-1, 0],
    [1e308, 1e308], { __proto__: null }, JSON.parse('{"__proto__": {"polluted": true}}'), { constructor: { prototype: { polluted: true } } },
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.string({ minLength: 300, maxLength: 2000 }),
  fc.array(fc.integer(), { maxLength: 40 }),
  fc.integer({ min: 50, max: 800 }).map((depth) => nest(depth)),
  fc.jsonValue({ maxDepth: 3 }),
);

/** An array nested `depth` levels deep. */
export function nest(depth: number, inner: unknown = 1): unknown {
  let v: unknown = inner;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

export type JsonMutation = 'replace' | 'delete' | 'add-key' | 'proto-key' | 'duplicate' | 'swap-type' | 'empty';

export interface MutationPlan {
  at: number;
  kind: JsonMutation;
  value: unknown;
  key: string;
}

/** Applies one mutation to a deep copy of `base` (at the `plan.at`-th path, modulo the number of paths). */
export function applyMutation(base: unknown, plan: MutationPlan): unknown {
  const doc = structuredClone(base);
  const all = paths(doc);
  const path = all[plan.at % all.length]!;
  if (path.length === 0) return plan.kind === 'replace' ? plan.value : doc;
  const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], doc) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  const cur = parent[key];
  switch (plan.kind) {
    case 'replace':
      parent[key] = plan.value;
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'add-key':
      if (cur && typeof cur === 'object' && !Array.isArray(cur)) (cur as Record<string, unknown>)[plan.key] = plan.value;
      else parent[key] = { [plan.key]: plan.value };
      break;
    case 'proto-key':
      // An own "__proto__" property, as JSON.parse makes one.
      if (cur && typeof cur === 'object' && !Array.isArray(cur)) Object.defineProperty(cur, '__proto__', { value: plan.value, enumerable: true, configurable: true, writable: true });
      break;
    case 'duplicate':
      if (Array.isArray(parent)) parent.push(structuredClone(cur));
      else if (Array.isArray(cur)) cur.push(...structuredClone(cur));
      break;
    case 'swap-type':
      parent[key] = typeof cur === 'number' ? String(cur) : typeof cur === 'string' ? Number(cur) || cur.length : Array.isArray(cur) ? { ...cur } : cur && typeof cur === 'object' ? Object.values(cur) : [cur];
      break;
    case 'empty':
      parent[key] = Array.isArray(cur) ? [] : cur && typeof cur === 'object' ? {} : typeof cur === 'string' ? '' : 0;
      break;
  }
  return doc;
}

export const mutationPlan: fc.Arbitrary<MutationPlan> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom<JsonMutation>('replace', 'replace', 'replace', 'delete', 'add-key', 'proto-key', 'duplicate', 'swap-type', 'empty'),
  value: nastyValue,
  key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'type', 'id'), fc.string({ maxLength: 12 })),
});

/** One to `max` mutations applied in turn. */
export const mutationPlans = (max = 4) => fc.array(mutationPlan, { minLength: 1, maxLength: max });

export function applyMutations(base: unknown, plans: MutationPlan[]): unknown {
  return plans.reduce((doc, p) => applyMutation(doc, p), base);
}

export type ByteMutation = { kind: 'flip' | 'set' | 'truncate' | 'insert' | 'delete-range' | 'duplicate-range'; at: number; len: number; byte: number };

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.record({
  kind: fc.constantFrom('flip', 'set', 'truncate', 'insert', 'delete-range', 'duplicate-range'),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 64 }),
  byte: fc.integer({ min: 0, max: 255 }),
});

/** Applies byte-level mutations to a copy of `data`. */
export function mutateBytes(data: Uint8Array, muts: ByteMutation[]): Uint8Array {
  let b = Buffer.from(data);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[at] = b[at]! ^ (1 << (m.byte % 8));
        break;
      case 'set':
        b.fill(m.byte, at, Math.min(b.length, at + m.len));
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.alloc(m.len, m.byte), b.subarray(at)]);
        break;
      case 'delete-range':
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + m.len))]);
        break;
      case 'duplicate-range':
        b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
        break;
    }
  }
  return new Uint8Array(b);
}

/** Counts cases by kind and reports them once. */
export class FuzzTally {
  readonly counts: Record<string, number> = {};
  constructor(readonly name: string) {}
  add(kind: string, n = 1): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + n;
  }
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
  report(): void {
    const line = `[fuzz] ${this.name}: ${this.total} cases (${Object.entries(this.counts).map(([k, v]) => `${k} ${v}`).join(', ')})`;
    console.log(line);
    const file = process.env.LF_FUZZ_REPORT;
    if (file) appendFileSync(file, `${JSON.stringify({ name: this.name, total: this.total, counts: this.counts })}\n`);
  }
}

/** The Object.prototype keys, to check that no input polluted it. */
export const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');
