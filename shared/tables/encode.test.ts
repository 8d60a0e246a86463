import { describe, expect, it } from 'vitest';
import { classOf, decodeTarget, encodeRow, encodeRows, encodeTarget, featureCount, isMissing, neededColumns, parseNumber } from './encode';
import { isTableError, TableError } from './errors';
import { MISSING_CATEGORY, type TablePreprocessing } from './types';

/** price ~ area (numeric, mean 50 std 10) + city (categorical with a missing category); id ignored. */
function houses(task: 'regression' | 'classification' = 'regression'): TablePreprocessing {
  return {
    format: 'layerforge-table-preprocessing',
    version: 1,
    columns: [
      { name: 'id', type: 'ignored', reason: 'an id' },
      { name: 'area', type: 'numeric', mean: 50, std: 10, missing: 1 },
      { name: 'city', type: 'categorical', categories: ['Berlin', 'Paris', MISSING_CATEGORY], missing: 2 },
    ],
    target: task === 'regression' ? { name: 'price', task, mean: 1000, std: 200, droppedRows: 0 } : { name: 'price', task, classes: ['cheap', 'dear'], droppedRows: 0 },
    featureNames: ['area', 'city=Berlin', 'city=Paris', `city=${MISSING_CATEGORY}`],
    featureMean: [50, 0, 0, 0],
    featureStd: [10, 1, 1, 1],
    split: { seed: 42, testFraction: 0.2, trainRows: 8, testRows: 2 },
    source: { file: 'houses.csv', delimiter: ',', rows: 10, header: ['id', 'area', 'city', 'price'] },
  };
}

describe('missing values and numbers', () => {
  it('counts empty, blank, NA, N/A, NaN, null and ? as missing, any case', () => {
    for (const v of [null, undefined, Number.NaN, '', '   ', 'NA', 'na', ' N/A ', 'NaN', 'nan', 'null', 'NULL', '?', '\t']) expect(isMissing(v)).toBe(true);
    for (const v of [0, '0', 'none', 'n', 'a', 'NAN1', '-', 'Berlin']) expect(isMissing(v)).toBe(false);
  });

  it('parses decimal numbers only', () => {
    expect(parseNumber(' 42 ')).toBe(42);
    expect(parseNumber('-0.5')).toBe(-0.5);
    expect(parseNumber('.5')).toBe(0.5);
    expect(parseNumber('5.')).toBe(5);
    expect(parseNumber('+1e-3')).toBe(0.001);
    for (const v of ['', '0x10', 'Infinity', '1,5', '1 000', '1e999', 'abc', '1.2.3', '--1', 'e5']) expect(parseNumber(v)).toBeUndefined();
  });
});

describe('encodeRow', () => {
  it('standardises numbers, one-hot encodes categories and skips ignored columns', () => {
    const pre = houses();
    expect(featureCount(pre)).toBe(4);
    expect(neededColumns(pre)).toEqual(['area', 'city']);
    expect([...encodeRow(pre, { id: 7, area: '70', city: 'Paris' })]).toEqual([2, 0, 1, 0]);
    expect([...encodeRow(pre, { area: 30, city: ' Berlin ', extra: 'ignored' })]).toEqual([-2, 1, 0, 0]);
  });

  it('fills a missing number with the mean (0 once standardised) and a missing category with MISSING_CATEGORY', () => {
    const pre = houses();
    expect([...encodeRow(pre, { area: 'NA', city: '' })]).toEqual([0, 0, 0, 1]);
    expect([...encodeRow(pre, { area: null, city: null })]).toEqual([0, 0, 0, 1]);
  });

  it('encodes an unknown category as all zeros', () => {
    expect([...encodeRow(houses(), { area: 50, city: 'Lyon' })]).toEqual([0, 0, 0, 0]);
  });

  it('throws a TableError naming the column and the value for a non-number, and for an absent column', () => {
    const pre = houses();
    let error: unknown;
    try {
      encodeRow(pre, { area: 'abc', city: 'Paris' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TableError);
    expect(isTableError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'not-a-number', column: 'area', message: "column 'area': 'abc' is not a number." });
    expect(() => encodeRow(pre, { area: Number.POSITIVE_INFINITY, city: 'Paris' })).toThrow(/Infinity is not a finite number/);
    expect(() => encodeRow(pre, { city: 'Paris' })).toThrow(expect.objectContaining({ code: 'no-such-column', column: 'area' }));
  });

  it('refuses an inconsistent preprocessing', () => {
    const pre = { ...houses(), featureMean: [0] };
    expect(() => encodeRow(pre, { area: 1, city: 'Paris' })).toThrow(/inconsistent/);
  });
});

describe('encodeRows', () => {
  it('maps columns by header name, in any order, and ignores extra columns', () => {
    const r = encodeRows(houses(), ['city', 'note', 'area'], [['Paris', 'x', '60'], ['', 'y', '']]);
    expect(r.errors).toEqual([]);
    expect(r.features).toBe(4);
    expect([...r.values]).toEqual([1, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('collects problems with rows or file lines instead of throwing', () => {
    const pre = houses();
    const r = encodeRows(pre, ['area', 'city'], [['1', 'Paris'], ['abc', 'Paris'], ['3']], { lines: [2, 17, 18] });
    expect(r.errorCount).toBe(2);
    expect(r.errors[0]).toMatchObject({ line: 17, column: 'area', message: "line 17, column 'area': 'abc' is not a number." });
    expect(r.errors[1]).toMatchObject({ line: 18, message: 'line 18 has 1 field, the header has 2.' });
    const noLines = encodeRows(pre, ['area', 'city'], [['x', 'Paris']]);
    expect(noLines.errors[0]).toMatchObject({ row: 0, message: "row 1, column 'area': 'x' is not a number." });
  });

  it('names a missing input column', () => {
    const r = encodeRows(houses(), ['area', 'town'], [['1', 'Paris']]);
    expect(r.errors).toEqual([{ column: 'city', message: "The input has no column 'city' (it has 'area', 'town')." }]);
  });

  it('caps the problems it keeps but counts them all', () => {
    const rows = Array.from({ length: 50 }, () => ['bad', 'Paris']);
    const r = encodeRows(houses(), ['area', 'city'], rows, { maxErrors: 3 });
    expect(r.errors).toHaveLength(3);
    expect(r.errorCount).toBe(50);
  });

  it('gives the same vectors as encodeRow', () => {
    const pre = houses();
    const rows = [['12.5', 'Berlin'], ['?', 'Rome'], ['50', 'NA']];
    const r = encodeRows(pre, ['area', 'city'], rows);
    rows.forEach((row, i) => expect([...r.values.subarray(i * 4, i * 4 + 4)]).toEqual([...encodeRow(pre, { area: row[0]!, city: row[1]! })]));
  });
});

describe('targets', () => {
  it('regression: standardises and decodes back to the target units', () => {
    const pre = houses('regression');
    expect(encodeTarget(pre, '1400')).toBe(2);
    expect(decodeTarget(pre, 2)).toBe(1400);
    expect(decodeTarget(pre, encodeTarget(pre, 950))).toBeCloseTo(950);
    expect(() => encodeTarget(pre, 'lots')).toThrow(expect.objectContaining({ code: 'not-a-number' }));
    expect(() => encodeTarget(pre, 'NA')).toThrow(/missing/);
  });

  it('classification: class indices, numbers canonical when the classes are numbers', () => {
    const pre = houses('classification');
    expect(encodeTarget(pre, ' dear ')).toBe(1);
    expect(encodeTarget(pre, 'unknown')).toBe(-1);
    expect(decodeTarget(pre, 1)).toBe(1);
    const numeric = { name: 'y', task: 'classification' as const, classes: ['0', '1', '2'], droppedRows: 0 };
    expect(classOf(numeric, '1.0')).toBe('1');
    expect(classOf(numeric, 2)).toBe('2');
  });
});
