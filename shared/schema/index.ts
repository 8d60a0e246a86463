/**
 * A small runtime schema library (shared/ may import nothing at run time but itself).
 * Used for project files and every engine API request: `parse` returns a typed value or a list of
 * issues, each with the JSON path of the bad field and what was expected.
 */

export interface SchemaIssue {
  /** JSON path, e.g. 'graph.nodes[3].params.filters'. */
  path: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: SchemaIssue[] };

export interface Schema<T> {
  readonly description: string;
  /** Returns the (possibly defaulted) value or pushes issues. */
  check(value: unknown, path: string, issues: SchemaIssue[]): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

export class SchemaError extends Error {
  constructor(
    readonly issues: SchemaIssue[],
    what = 'value',
  ) {
    super(`invalid ${what}: ${issues.slice(0, 5).map(formatIssue).join('; ')}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`);
    this.name = 'SchemaError';
  }
}

export const formatIssue = (i: SchemaIssue) => (i.path ? `${i.path}: ${i.message}` : i.message);

export function parse<T>(schema: Schema<T>, value: unknown): ParseResult<T> {
  const issues: SchemaIssue[] = [];
  const out = schema.check(value, '', issues);
  return issues.length ? { ok: false, issues } : { ok: true, value: out };
}

/** Parses or throws a SchemaError naming `what`. */
export function parseOrThrow<T>(schema: Schema<T>, value: unknown, what?: string): T {
  const r = parse(schema, value);
  if (!r.ok) throw new SchemaError(r.issues, what);
  return r.value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'string') return value.length > 40 ? `a string` : `'${value}'`;
  if (typeof value === 'object') return 'an object';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

const join = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

function schema<T>(description: string, check: Schema<T>['check']): Schema<T> {
  return { description, check };
}

export const s = {
  string(opts: { min?: number; max?: number; pattern?: RegExp } = {}): Schema<string> {
    return schema('a string', (v, path, issues) => {
      if (typeof v !== 'string') issues.push({ path, message: `expected a string, got ${describe(v)}` });
      else if (opts.min !== undefined && v.length < opts.min) issues.push({ path, message: `must not be empty` });
      else if (opts.max !== undefined && v.length > opts.max) issues.push({ path, message: `must be at most ${opts.max} characters` });
      else if (opts.pattern && !opts.pattern.test(v)) issues.push({ path, message: `'${v}' does not match ${opts.pattern}` });
      return v as string;
    });
  },
  number(opts: { int?: boolean; min?: number; max?: number } = {}): Schema<number> {
    const what = opts.int ? 'an integer' : 'a finite number';
    return schema(what, (v, path, issues) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) {
        issues.push({ path, message: `expected ${what}, got ${describe(v)}` });
      } else if (opts.min !== undefined && v < opts.min) issues.push({ path, message: `must be >= ${opts.min}, got ${v}` });
      else if (opts.max !== undefined && v > opts.max) issues.push({ path, message: `must be <= ${opts.max}, got ${v}` });
      return v as number;
    });
  },
  boolean(): Schema<boolean> {
    return schema('true or false', (v, path, issues) => {
      if (typeof v !== 'boolean') issues.push({ path, message: `expected true or false, got ${describe(v)}` });
      return v as boolean;
    });
  },
  literal<const L extends string | number | boolean>(lit: L): Schema<L> {
    return schema(JSON.stringify(lit), (v, path, issues) => {
      if (v !== lit) issues.push({ path, message: `expected ${JSON.stringify(lit)}, got ${describe(v)}` });
      return v as L;
    });
  },
  enum<const O extends string>(options: readonly O[]): Schema<O> {
    return schema(`one of ${options.join(', ')}`, (v, path, issues) => {
      if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
        issues.push({ path, message: `expected one of ${options.map((o) => `'${o}'`).join(', ')}, got ${describe(v)}` });
      }
      return v as O;
    });
  },
  unknown(): Schema<unknown> {
    return schema('anything', (v) => v);
  },
  array<T>(item: Schema<T>, opts: { max?: number; min?: number } = {}): Schema<T[]> {
    return schema(`an array of ${item.description}`, (v, path, issues) => {
      if (!Array.isArray(v)) {
        issues.push({ path, message: `expected an array, got ${describe(v)}` });
        return [];
      }
      if (opts.max !== undefined && v.length > opts.max) issues.push({ path, message: `at most ${opts.max} items allowed, got ${v.length}` });
      if (opts.min !== undefined && v.length < opts.min) issues.push({ path, message: `at least ${opts.min} items needed, got ${v.length}` });
      return v.map((x, i) => item.check(x, join(path, i), issues));
    });
  },
  record<T>(value: Schema<T>, opts: { maxKeys?: number } = {}): Schema<Record<string, T>> {
    return schema(`an object of ${value.description}`, (v, path, issues) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        issues.push({ path, message: `expected an object, got ${describe(v)}` });
        return {};
      }
      const entries = Object.entries(v);
      if (opts.maxKeys !== undefined && entries.length > opts.maxKeys) issues.push({ path, message: `at most ${opts.maxKeys} keys allowed` });
      const out: Record<string, T> = {};
      for (const [k, x] of entries) {
        if (k === '__proto__') continue;
        out[k] = value.check(x, join(path, k), issues);
      }
      return out;
    });
  },
  object<Sh extends Record<string, Schema<unknown>>>(shape: Sh, opts: { strict?: boolean } = {}): Schema<ObjectOf<Sh>> {
    return schema('an object', (v, path, issues) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        issues.push({ path, message: `expected an object, got ${describe(v)}` });
        return {} as ObjectOf<Sh>;
      }
      const obj = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [key, sch] of Object.entries(shape)) {
        const isOptional = (sch as OptionalSchema<unknown>).optional === true;
        if (!(key in obj) || obj[key] === undefined) {
          if (isOptional) {
            const d = (sch as OptionalSchema<unknown>).fallback;
            if (d !== undefined) out[key] = structuredClone(d);
            continue;
          }
          issues.push({ path: join(path, key), message: `is missing (expected ${sch.description})` });
          continue;
        }
        out[key] = sch.check(obj[key], join(path, key), issues);
      }
      if (opts.strict) {
        for (const key of Object.keys(obj)) if (!(key in shape)) issues.push({ path: join(path, key), message: 'is not a known field' });
      }
      return out as ObjectOf<Sh>;
    });
  },
  optional<T>(inner: Schema<T>, fallback?: T): OptionalSchema<T> {
    return { ...schema(`${inner.description} (optional)`, inner.check), optional: true, fallback };
  },
  nullable<T>(inner: Schema<T>): Schema<T | null> {
    return schema(`${inner.description} or null`, (v, path, issues) => (v === null ? null : inner.check(v, path, issues)));
  },
  union<T>(options: Schema<T>[], description: string): Schema<T> {
    return schema(description, (v, path, issues) => {
      let best: SchemaIssue[] | undefined;
      for (const o of options) {
        const local: SchemaIssue[] = [];
        const out = o.check(v, path, local);
        if (!local.length) return out;
        if (!best || local.length < best.length) best = local;
      }
      issues.push(...(best ?? [{ path, message: `expected ${description}` }]));
      return v as T;
    });
  },
  /** A tagged union: picks the member by `obj[tag]`. */
  tagged<M extends Record<string, Schema<unknown>>>(tag: string, members: M): Schema<Infer<M[keyof M]>> {
    type T = Infer<M[keyof M]>;
    const names = Object.keys(members);
    return schema(`one of ${names.join(', ')}`, (v, path, issues) => {
      const key = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[tag] : undefined;
      if (typeof key !== 'string' || !(key in members)) {
        issues.push({ path: join(path, tag), message: `expected one of ${names.map((n) => `'${n}'`).join(', ')}, got ${describe(key)}` });
        return v as T;
      }
      return members[key]!.check(v, path, issues) as T;
    });
  },
  /** Any JSON-ish value with a custom check; `fn` returns an error message or null. */
  refine<T>(inner: Schema<T>, fn: (value: T) => string | null): Schema<T> {
    return schema(inner.description, (v, path, issues) => {
      const before = issues.length;
      const out = inner.check(v, path, issues);
      if (issues.length === before) {
        const msg = fn(out);
        if (msg) issues.push({ path, message: msg });
      }
      return out;
    });
  },
};

export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
  readonly fallback?: T;
}

type OptionalKeys<Sh> = { [K in keyof Sh]: Sh[K] extends OptionalSchema<unknown> ? K : never }[keyof Sh];
type RequiredKeys<Sh> = Exclude<keyof Sh, OptionalKeys<Sh>>;
export type ObjectOf<Sh> = { [K in RequiredKeys<Sh>]: Infer<Sh[K]> } & { [K in OptionalKeys<Sh>]?: Exclude<Infer<Sh[K]>, undefined> };
