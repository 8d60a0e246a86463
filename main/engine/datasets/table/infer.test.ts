import { describe, expect, it } from 'vitest';
import { encodeRow } from '../../../../shared/tables/encode';
import { MISSING_CATEGORY } from '../../../../shared/tables/types';
import { parseCsv } from './csv';
import { fitTable, splitIndices } from './fit';
import { idLikeName, inferTable, sortValues } from './infer';

/** A CSV from columns of values (header = keys). */
function csv(columns: Record<string, (string | number)[]>): string {
  const names = Object.keys(columns);
  const n = columns[names[0]!]!.length;
  const rows = Array.from({ length: n }, (_, i) => names.map((c) => String(columns[c]![i])).join(','));
  return [names.join(','), ...rows].join('\n') + '\n';
}

const range = (n: number, f: (i: number) => string | number) => Array.from({ length: n }, (_, i) => f(i));

async function infer(text: string, opts: Parameters<typeof inferTable>[1] = {}) {
  return inferTable(await parseCsv(text), opts);
}

describe('column types', () => {
  it('numbers are numeric; missing values of every kind do not count against it', async () => {
    const r = await infer(csv({ x: ['1.5', 'NA', '2', '', ' ', 'N/A', '?', 'null', 'NaN', '-3e2', ...range(10, (i) => i * 1.1)], y: range(20, (i) => i % 2) }));
    expect(r.columns[0]).toMatchObject({ name: 'x', type: 'numeric', reason: 'numbers from -300 to 9.9' });
    expect(r.previews[0]).toMatchObject({ missing: 7, min: -300, max: 9.9 });
  });

  it('few distinct integers are categorical, many are numeric', async () => {
    const r = await infer(csv({ rooms: range(40, (i) => 1 + (i % 4)), year: range(40, (i) => 1950 + i), y: range(40, (i) => i % 2) }));
    expect(r.columns.map((c) => [c.name, c.type, c.reason])).toEqual([
      ['rooms', 'categorical', '4 distinct integers'],
      ['year', 'numeric', 'numbers from 1950 to 1989'],
    ]);
    // Not fewer than half the rows: numeric.
    const few = await infer(csv({ k: [1, 2, 3, 1], y: ['a', 'b', 'a', 'b'] }));
    expect(few.columns[0]!.type).toBe('numeric');
  });

  it('text with few values is categorical; ids, free text, constant and empty columns are ignored', async () => {
    const n = 60;
    const r = await infer(csv({
      id: range(n, (i) => i + 1),
      customer_id: range(n, (i) => (i * 7919) % 1000),
      code: range(n, (i) => `C-${i}`),
      colour: range(n, (i) => ['red', 'green', 'blue'][i % 3]!),
      note: range(n, (i) => `note ${i % 40}`),
      same: range(n, () => 'x'),
      empty: range(n, () => 'NA'),
      value: range(n, (i) => i * 0.5),
      y: range(n, (i) => (i % 3 ? 'yes' : 'no')),
    }));
    const by = Object.fromEntries(r.columns.map((c) => [c.name, `${c.type}: ${c.reason}`]));
    expect(by).toEqual({
      id: 'ignored: an id: increasing integers in a column named like one',
      customer_id: 'ignored: an id: a different integer in every row in a column named like one',
      code: 'ignored: an id or name: a different text in every row',
      colour: 'categorical: text with 3 distinct values',
      note: 'ignored: free text: 40 distinct values in 60 rows; set it to categorical to use it',
      same: "ignored: the same value ('x') in every row",
      empty: 'ignored: every value is missing',
      value: 'numeric: numbers from 0 to 29.5',
    });
  });

  it('explains a text column of numbers with a stray text, and warns', async () => {
    const r = await infer(csv({ price: [...range(39, (i) => i * 2.5), 'abc'], rating: [...range(39, (i) => i % 3), '?!'], y: range(40, (i) => i % 2) }));
    expect(r.columns[0]).toMatchObject({ type: 'ignored', reason: "numbers mixed with text ('abc' on line 41 is not a number); fix the values, or set the column to numeric to see each bad line" });
    expect(r.columns[1]).toMatchObject({ type: 'categorical', reason: "text with 4 distinct values ('?!' on line 41 is not a number)" });
    expect(r.warnings[0]).toMatch(/^Column 'price' is almost all numbers, but 'abc' on line 41 is not a number: it is used as nothing \(ignored\)/);
    expect(r.warnings[1]).toMatch(/^Column 'rating' is almost all numbers, but '\?!' on line 41 is not a number: it is used as text categories/);
  });

  it('user overrides: numeric must parse (naming line and column), categorical, ignored', async () => {
    const text = csv({ price: ['1', '2', 'abc', '4'], city: ['a', 'b', 'a', 'b'], y: [1, 2, 1, 2] });
    await expect(infer(text, { columnTypes: { price: 'numeric' } })).rejects.toMatchObject({
      code: 'not-a-number', line: 4, column: 'price', message: "line 4, column 'price': 'abc' is not a number (the column was set to numeric).",
    });
    const r = await infer(text, { columnTypes: { price: 'categorical', city: 'ignored' } });
    expect(r.columns.map((c) => [c.type, c.reason])).toEqual([['categorical', 'chosen by the user (4 distinct values)'], ['ignored', 'chosen by the user']]);
    await expect(infer(text, { columnTypes: { nope: 'numeric' } })).rejects.toMatchObject({ code: 'no-such-column', column: 'nope' });
    await expect(infer(text, { columnTypes: { y: 'numeric' } })).rejects.toMatchObject({ code: 'bad-option' });
    await expect(infer(text, { columnTypes: { city: 'text' as 'numeric' } })).rejects.toMatchObject({ code: 'bad-option' });
  });

  it('recognises id-like names', () => {
    for (const n of ['id', 'ID', 'Id', 'index', 'customer_id', 'PassengerId', 'row id', 'Unnamed: 0', '#', 'user.id']) expect(idLikeName(n)).toBe(true);
    for (const n of ['paid', 'width', 'idea', 'valid', 'price']) expect(idLikeName(n)).toBe(false);
  });
});

describe('target and task', () => {
  it('text or few integers -> classification with sorted classes; real values -> regression', async () => {
    const text = await infer(csv({ x: range(30, (i) => i), y: range(30, (i) => ['b', 'a', 'c'][i % 3]!) }));
    expect(text.target).toMatchObject({ name: 'y', task: 'classification', classes: ['a', 'b', 'c'] });
    const ints = await infer(csv({ x: range(30, (i) => i), y: range(30, (i) => [10, 2, 1][i % 3]!) }));
    expect(ints.target).toMatchObject({ task: 'classification', classes: ['1', '2', '10'] });
    const real = await infer(csv({ x: range(30, (i) => i), y: range(30, (i) => i * 1.5) }));
    expect(real.target).toMatchObject({ task: 'regression' });
    expect(real.target.classes).toBeUndefined();
  });

  it('defaults to the last column, takes another by name, and lists the columns when there is no such column', async () => {
    const text = csv({ a: [1, 2, 3, 4], b: ['x', 'y', 'x', 'y'], c: [0.5, 1.5, 2.5, 3.5] });
    expect((await infer(text)).target.name).toBe('c');
    expect((await infer(text, { target: 'b' })).target).toMatchObject({ name: 'b', index: 1, task: 'classification' });
    await expect(infer(text, { target: 'price' })).rejects.toMatchObject({
      code: 'no-such-column', message: "There is no column 'price' to predict; the columns are 'a', 'b', 'c'.",
    });
  });

  it('task overrides: regression needs numbers, classification of numbers works', async () => {
    const text = csv({ a: range(20, (i) => i), y: range(20, (i) => (i === 7 ? 'n/a?' : i * 0.5)) });
    await expect(infer(text, { task: 'regression' })).rejects.toMatchObject({ code: 'not-a-number', line: 9, column: 'y' });
    const cls = await infer(csv({ a: range(20, (i) => i), y: range(20, (i) => (i % 4) * 0.5) }), { task: 'classification' });
    expect(cls.target.classes).toEqual(['0', '0.5', '1', '1.5']);
    await expect(infer(text, { task: 'clustering' as 'regression' })).rejects.toMatchObject({ code: 'bad-option' });
  });

  it('refuses a single-class target and a file with nothing to learn from', async () => {
    await expect(infer(csv({ a: [1, 2, 3], y: ['x', 'x', 'x'] }))).rejects.toMatchObject({ code: 'single-class' });
    await expect(infer(csv({ id: range(30, (i) => i), y: range(30, (i) => i % 2) }))).rejects.toMatchObject({ code: 'no-features' });
    await expect(infer('y\n1\n2\n')).rejects.toMatchObject({ code: 'no-features', message: "No column can be used as an input: the file has only the target column 'y'." });
  });

  it('sorts values numerically when all are numbers', () => {
    expect(sortValues(['10', '9', '-1'])).toEqual(['-1', '9', '10']);
    expect(sortValues(['b', 'B', 'a'])).toEqual(['B', 'a', 'b']);
  });
});

describe('fitTable', () => {
  it('splits reproducibly by seed, and every row lands once', () => {
    const a = splitIndices(100, 0.2, 42);
    expect(a.test).toHaveLength(20);
    expect([...a.train, ...a.test].sort((x, y) => x - y)).toEqual(range(100, (i) => i));
    expect(splitIndices(100, 0.2, 42)).toEqual(a);
    expect(splitIndices(100, 0.2, 7).test).not.toEqual(a.test);
    expect(splitIndices(1, 0.5, 1)).toEqual({ train: [0], test: [] });
    expect(splitIndices(10, 0, 1).test).toEqual([]);
  });

  it('fits means, deviations and vocabularies on the training rows only, fills missing values and drops rows without a target', async () => {
    const text = [
      'x,city,y',
      '1,a,10', '2,b,20', '3,a,30', '4,NA,40', 'NA,b,50', '6,a,60', '7,b,70', '8,a,80', '9,b,', '10,z,100',
    ].join('\n');
    const table = await parseCsv(text);
    const inferred = inferTable(table, { columnTypes: { city: 'categorical' }, task: 'regression' });
    const fit = fitTable(table, inferred, { file: 't.csv', testFraction: 0.3, seed: 3 });
    const pre = fit.preprocessing;
    expect(fit.droppedRows).toBe(1);
    expect(pre.target.droppedRows).toBe(1);
    expect(fit.train.count + fit.test.count).toBe(9);
    expect(fit.test.count).toBe(3);
    expect(pre.split).toEqual({ seed: 3, testFraction: 0.3, trainRows: 6, testRows: 3 });
    // Recompute the statistics from the training rows by hand.
    const testX = new Set(fit.testRows.map((r) => r[0]));
    const trainRows = table.rows.filter((r) => r[2] !== '' && !testX.has(r[0]));
    const xs = trainRows.map((r) => r[0]!).filter((v) => v !== 'NA').map(Number);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length);
    const x = pre.columns[0]!;
    expect(x).toMatchObject({ name: 'x', type: 'numeric', missing: 1 });
    if (x.type !== 'numeric') throw new Error('numeric');
    expect(x.mean).toBeCloseTo(mean, 10);
    expect(x.std).toBeCloseTo(std, 10);
    const city = pre.columns[1]!;
    if (city.type !== 'categorical') throw new Error('categorical');
    const trainCities = [...new Set(trainRows.map((r) => r[1]!).filter((c) => c !== 'NA'))].sort();
    expect(city.categories).toEqual([...trainCities, MISSING_CATEGORY]);
    expect(pre.featureNames).toEqual(['x', ...city.categories.map((c) => `city=${c}`)]);
    expect(pre.featureMean.slice(1).every((m) => m === 0) && pre.featureStd.slice(1).every((s) => s === 1)).toBe(true);
    const ys = trainRows.map((r) => Number(r[2]));
    const ym = ys.reduce((s, v) => s + v, 0) / ys.length;
    expect(pre.target.mean).toBeCloseTo(ym, 10);
    expect(fit.filled).toEqual({ x: 1, city: 1 });
    // The stored features are exactly what encodeRow makes of the raw rows.
    const F = pre.featureNames.length;
    fit.testRows.forEach((r, i) => {
      expect([...fit.test.features.subarray(i * F, (i + 1) * F)]).toEqual([...encodeRow(pre, { x: r[0]!, city: r[1]! })]);
      expect(fit.test.targets![i]).toBeCloseTo((Number(r[2]) - pre.target.mean!) / pre.target.std!, 5);
    });
    expect(fit.train.labels.every((l) => l === 0)).toBe(true);
  });

  it('classification: label indices, Uint8 labels, std 1 for a constant training column', async () => {
    const table = await parseCsv(csv({ k: range(20, () => 5).map((v, i) => (i === 19 ? 6 : v)), c: range(20, (i) => ['x', 'y'][i % 2]!) }));
    const fit = fitTable(table, inferTable(table, { columnTypes: { k: 'numeric' } }), { file: 'c.csv', testFraction: 0.05, seed: 1 });
    expect(fit.preprocessing.target.classes).toEqual(['x', 'y']);
    expect(fit.train.labels).toBeInstanceOf(Uint8Array);
    expect(fit.test.targets).toBeUndefined();
    fit.testRows.forEach((r, i) => expect(fit.test.labels[i]).toBe(r[1] === 'x' ? 0 : 1));
  });

  it('refuses a test fraction out of range', async () => {
    const table = await parseCsv(csv({ a: [1, 2, 3, 4], y: ['p', 'q', 'p', 'q'] }));
    const inferred = inferTable(table);
    expect(() => fitTable(table, inferred, { file: 'x', testFraction: 1 })).toThrow(expect.objectContaining({ code: 'bad-option' }));
    expect(() => fitTable(table, inferred, { file: 'x', testFraction: -0.1 })).toThrow(/at least 0 and below 1/);
  });
});
