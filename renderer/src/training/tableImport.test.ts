import { describe, expect, it } from 'vitest';
import type { TableColumnPreview } from '../../../shared/api';
import { columnBadge, effectiveTask, emptyTableForm, fileStem, tableImportRequest, validateTableForm } from './tableImport';

describe('table import form', () => {
  it('checks the path, test fraction and seed', () => {
    expect(validateTableForm(emptyTableForm('/data/a.csv'))).toEqual({});
    expect(validateTableForm(emptyTableForm('')).path).toMatch(/path of a CSV/);
    expect(validateTableForm(emptyTableForm('data/a.csv')).path).toMatch(/absolute/);
    expect(validateTableForm({ ...emptyTableForm('C:\\data\\a.csv'), testFraction: '0' }).testFraction).toBeTruthy();
    expect(validateTableForm({ ...emptyTableForm('/a.csv'), testFraction: 'x', seed: '1.5' })).toMatchObject({ testFraction: expect.any(String), seed: expect.any(String) });
  });

  it('builds the import request: the chosen target, the task only when overridden, changed column types only', () => {
    const form = { ...emptyTableForm(' /data/houses.csv '), target: 'price' };
    expect(tableImportRequest(form, { target: 'price' })).toEqual({ path: '/data/houses.csv', as: 'table', name: 'houses', target: 'price', testFraction: 0.2, seed: 42 });
    const custom = { ...form, name: 'My houses', task: 'classification' as const, testFraction: '0.25', seed: '7', columnTypes: { zip: 'categorical' as const } };
    expect(tableImportRequest(custom, { target: 'price' })).toEqual({
      path: '/data/houses.csv', as: 'table', name: 'My houses', target: 'price', task: 'classification', testFraction: 0.25, seed: 7, columnTypes: { zip: 'categorical' },
    });
    expect(effectiveTask({ task: 'auto' }, { task: 'regression' })).toBe('regression');
    expect(effectiveTask({ task: 'classification' }, { task: 'regression' })).toBe('classification');
    expect(fileStem('C:\\x\\wine.quality.csv')).toBe('wine.quality');
  });

  it('describes a column: its reason, range or values, and missing count', () => {
    const col: TableColumnPreview = { name: 'age', type: 'numeric', reason: 'numbers from 19 to 79', missing: 3, distinct: 58, min: 19, max: 79 };
    expect(columnBadge(col)).toEqual({ type: 'numeric', note: 'numbers from 19 to 79 · 3 missing' });
    expect(columnBadge(col, 'ignored')).toEqual({ type: 'ignored', note: 'set by you (inferred: numeric) · 3 missing' });
    const { reason: _r, ...bare } = col;
    expect(columnBadge({ ...bare, missing: 0 }).note).toBe('19 – 79');
  });
});
