import { describe, expect, it } from 'vitest';
import { parse, parseOrThrow, s, SchemaError } from '.';

describe('schema', () => {
  const settings = s.object({
    epochs: s.number({ int: true, min: 1 }),
    name: s.optional(s.string({ max: 5 }), 'run'),
    optimizer: s.enum(['adam', 'sgd']),
    tags: s.optional(s.array(s.string())),
  });

  it('accepts valid input and fills defaults', () => {
    expect(parseOrThrow(settings, { epochs: 3, optimizer: 'adam' })).toEqual({ epochs: 3, name: 'run', optimizer: 'adam' });
  });

  it('names the path of every bad field and what was expected', () => {
    const r = parse(settings, { epochs: 0.5, name: 'toolong', optimizer: 'rmsprop', tags: ['a', 3] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      { path: 'epochs', message: 'expected an integer, got 0.5' },
      { path: 'name', message: 'must be at most 5 characters' },
      { path: 'optimizer', message: "expected one of 'adam', 'sgd', got 'rmsprop'" },
      { path: 'tags[1]', message: 'expected a string, got 3' },
    ]);
  });

  it('reports missing fields, NaN and non-objects', () => {
    expect(() => parseOrThrow(settings, { optimizer: 'sgd' }, 'request')).toThrow(/request: epochs: is missing/);
    expect(() => parseOrThrow(settings, { epochs: Number.NaN, optimizer: 'sgd' })).toThrow(/expected an integer, got NaN/);
    expect(() => parseOrThrow(settings, null)).toThrow(SchemaError);
    expect(() => parseOrThrow(settings, [1])).toThrow(/expected an object, got an array/);
  });

  it('strict objects refuse unknown fields; records skip __proto__', () => {
    const strict = s.object({ a: s.number() }, { strict: true });
    expect(parse(strict, { a: 1, b: 2 }).ok).toBe(false);
    const rec = parseOrThrow(s.record(s.number()), JSON.parse('{"__proto__": 1, "x": 2}'));
    expect(Object.keys(rec)).toEqual(['x']);
    expect(Object.getPrototypeOf(rec)).toBe(Object.prototype);
  });

  it('tagged unions pick the member by tag', () => {
    const msg = s.tagged('kind', {
      a: s.object({ kind: s.literal('a'), x: s.number() }),
      b: s.object({ kind: s.literal('b'), y: s.string() }),
    });
    expect(parse(msg, { kind: 'b', y: 'ok' }).ok).toBe(true);
    expect(parse(msg, { kind: 'c' })).toEqual({ ok: false, issues: [{ path: 'kind', message: "expected one of 'a', 'b', got 'c'" }] });
  });
});
