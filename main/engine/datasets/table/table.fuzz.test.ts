/**
 * Property tests of the table importer on hostile input: every outcome is a ready dataset or a TableError,
 * never another exception, a crash or a hang; a failure leaves no `table-*` folder and no temporary file.
 * Limits are lowered so each case stays small; the runs are bounded to a few seconds in all.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isTableError } from '../../../../shared/tables/errors';
import { importTable, readTableCache } from './index';

const root = mkdtempSync(join(tmpdir(), 'lf-table-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const data = join(root, 'data');
const file = join(root, 'input.csv');
const LIMITS = { maxFieldChars: 2000, maxColumns: 200, maxRecordChars: 20_000, maxValues: 50_000 };

const entries = () => (existsSync(join(data, 'datasets')) ? readdirSync(join(data, 'datasets')) : []);

/** Imports `bytes` as a table; checks the outcome and leaves the cache empty again. */
async function importChecked(bytes: Uint8Array): Promise<'ok' | string> {
  writeFileSync(file, bytes);
  try {
    const r = await importTable(file, data, { name: 'fuzz', limits: LIMITS, testFraction: 0.25, seed: 1 });
    const ds = await readTableCache(r.info.cachePath!, r.info.id);
    const F = ds.shape[2];
    expect(F).toBeGreaterThan(0);
    for (const s of [ds.train, ds.test]) {
      expect(s.features).toHaveLength(s.count * F);
      for (const v of s.features!) expect(Number.isFinite(v)).toBe(true);
      for (const l of s.labels) expect(l < Math.max(1, ds.info.classNames.length)).toBe(true);
      if (s.targets) for (const v of s.targets) expect(Number.isFinite(v)).toBe(true);
    }
    expect(entries()).toEqual(['table-fuzz']);
    rmSync(join(data, 'datasets'), { recursive: true, force: true });
    return 'ok';
  } catch (error) {
    if (!isTableError(error)) throw error;
    expect(error.message.length).toBeGreaterThan(10);
    expect(entries()).toEqual([]);
    return error.code;
  }
}

const VALID = [
  'id,city,rooms,area,note,price',
  '1,Berlin,3,50.5,"quiet, bright",100',
  '2,Paris,2,NA,"say ""hi""",120',
  '3,"New York, NY",4,80,"two\nlines",200',
  '4,Berlin,3,55,plain,110',
  '5,Paris,1,30.25,,90',
  '6,Lyon,2,42,x,95',
  '7,Berlin,5,120,y,300',
  '8,Paris,3,61,z,130',
].join('\n') + '\n';

const SPECIAL = [0x2c, 0x3b, 0x09, 0x7c, 0x22, 0x0d, 0x0a, 0x00, 0xff, 0xc3, 0xef, 0xbb, 0xbf, 0x20, 0x61, 0x31, 0x2e, 0x3f];

describe('table import on hostile input', () => {
  it('mutated bytes of a valid CSV: a dataset or a TableError, nothing left on failure', async () => {
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('set', 'insert', 'delete'), byte: fc.oneof(fc.constantFrom(...SPECIAL), fc.integer({ min: 0, max: 255 })) }), { minLength: 1, maxLength: 6 }),
        async (mutations) => {
          const bytes = [...Buffer.from(VALID)];
          for (const m of mutations) {
            const at = m.at % (bytes.length + 1);
            if (m.op === 'set' && at < bytes.length) bytes[at] = m.byte;
            else if (m.op === 'insert') bytes.splice(at, 0, m.byte);
            else bytes.splice(at, 1);
          }
          codes.add(await importChecked(Uint8Array.from(bytes)));
        },
      ),
      { numRuns: 120 },
    );
    expect(codes.has('ok')).toBe(true);
    expect(codes.size).toBeGreaterThan(1);
  }, 20_000);

  it('random quotes, delimiters, line breaks and missing markers', async () => {
    const cell = fc.constantFrom('a', 'b', '1', '2.5', '-3', '"', '""', ',', ';', '\n', '\r\n', '\r', ' ', 'NA', '?', 'é', '\t', '|', '');
    await fc.assert(
      fc.asyncProperty(fc.array(cell, { maxLength: 120 }), async (parts) => {
        await importChecked(Buffer.from(parts.join('')));
      }),
      { numRuns: 120 },
    );
  }, 20_000);

  it('ragged rows and huge fields', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.oneof(fc.constantFrom('x', 'y', '1', '2', 'NA'), fc.integer({ min: 1500, max: 2600 }).map((n) => 'z'.repeat(n))), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 12 }),
        async (rows) => {
          const text = ['a,b,c', ...rows.map((r) => r.join(','))].join('\n');
          const outcome = await importChecked(Buffer.from(text));
          const ragged = rows.some((r) => r.length !== 3);
          const huge = rows.some((r) => r.some((c) => c.length > LIMITS.maxFieldChars));
          if (ragged || huge) expect(outcome).not.toBe('ok');
        },
      ),
      { numRuns: 60 },
    );
  }, 20_000);

  it('a header of 1,000,000 columns is refused quickly with the default limits', async () => {
    writeFileSync(file, `${'c,'.repeat(999_999)}c\n${'1,'.repeat(999_999)}1\n`);
    const started = Date.now();
    const error = await importTable(file, data, { name: 'wide' }).catch((e: unknown) => e);
    expect(isTableError(error) && error.code).toBe('too-many-columns');
    expect((error as Error).message).toBe('line 1: the header has 1,000,000 columns; at most 10,000 are supported.');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(entries()).toEqual([]);
  }, 20_000);
});
