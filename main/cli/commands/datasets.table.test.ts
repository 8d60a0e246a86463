import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatasetInfo, TableImportReport, TablePreview } from '../../../shared/api/datasets';
import { io } from '../testing';
import { main } from '../index';

const fixture = (name: string) => new URL(`../../../resources/fixtures/tables/${name}`, import.meta.url).pathname;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lf-cli-table-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('layerforge datasets (tables)', () => {
  it('imports a CSV and prints what it found: rows, column types, task, classes, filled values, dropped rows, split', async () => {
    const data = join(root, 'data');
    const a = io();
    expect(await main(['datasets', 'import', fixture('houses_quoted.csv'), '--as', 'table', '--target', 'price', '--name', 'Houses', '--data-dir', data], a.x)).toBe(0);
    const text = a.out.join('\n');
    expect(text).toMatch(/^Imported table:houses from houses_quoted\.csv: 30 rows, 7 columns \(delimiter: comma\)/);
    expect(text).toMatch(/^ {2}id +ignored +an id: increasing integers/m);
    expect(text).toMatch(/^ {2}city +categorical +text with 4 distinct values; 3 missing filled$/m);
    expect(text).toMatch(/^ {2}area_m2 +numeric +numbers from 31\.7 to 111\.7; 6 missing filled$/m);
    expect(text).toMatch(/^ {2}description +ignored +free text/m);
    expect(text).toMatch(/^Task: regression of 'price' \(training mean [\d.]+, std [\d.]+;/m);
    expect(text).toMatch(/^Missing values filled: city 3 \(category '\(missing\)'\), area_m2 6 \(training mean\)$/m);
    expect(text).toMatch(/^Rows dropped \(no target value\): 1$/m);
    expect(text).toMatch(/^Split: 23 train \/ 6 test rows \(seed 42, test fraction 0\.2\); 12 input features\.$/m);
    const b = io();
    expect(await main(['datasets', 'list', '--data-dir', data], b.x)).toBe(0);
    expect(b.out.join('\n')).toMatch(/table:houses\s+ready\s+23\s+6\s+12/);
  });

  it('--json gives the dataset and the import report; --task, --type, --test-fraction and --seed apply', async () => {
    const data = join(root, 'data');
    const a = io();
    expect(await main(['datasets', 'import', fixture('iris.csv'), '--target', 'species', '--test-fraction', '0.5', '--seed', '3', '--type', 'petal_width=ignored', '--json', '--data-dir', data], a.x)).toBe(0);
    const r = JSON.parse(a.out.join('\n')) as DatasetInfo & { table: TableImportReport };
    expect(r).toMatchObject({ id: 'table:iris', task: 'classification', classNames: ['setosa', 'versicolor', 'virginica'], trainSize: 75, testSize: 75, inputShape: [3] });
    expect(r.table.preprocessing.split).toMatchObject({ seed: 3, testFraction: 0.5 });
    expect(r.table.preprocessing.columns[3]).toMatchObject({ name: 'petal_width', type: 'ignored', reason: 'chosen by the user' });
    const b = io();
    expect(await main(['datasets', 'import', fixture('wine.csv'), '--task', 'classification', '--json', '--data-dir', data], b.x)).toBe(0);
    const c = io();
    expect(await main(['datasets', 'import', fixture('iris.csv'), '--task', 'regression', '--data-dir', data], c.x)).toBe(1);
    expect(c.err.join('\n')).toMatch(/line 2, column 'species': 'setosa' is not a number, so 'species' cannot be a regression target/);
  });

  it('preview-table prints column types with their reasons, the task and the first rows', async () => {
    const a = io();
    expect(await main(['datasets', 'preview-table', fixture('wine_quality_semicolon.csv'), '--rows', '2'], a.x)).toBe(0);
    const text = a.out.join('\n');
    expect(text).toMatch(/wine_quality_semicolon\.csv: 40 rows, 5 columns, delimiter semicolon/);
    expect(text).toMatch(/^COLUMN\s+TYPE\s+MISSING\s+DISTINCT\s+RANGE\s+WHY$/m);
    expect(text).toMatch(/^sample\s+ignored\s+0\s+40\s+an id or name/m);
    expect(text).toMatch(/^Target: 'quality' -> classification, 2 classes: bad, good$/m);
    expect(text).toMatch(/^First 2 rows:\n {2}S-001,18\.37,6\.530,white,bad\n {2}S-002/m);
    const b = io();
    expect(await main(['datasets', 'preview-table', fixture('diabetes.csv'), '--target', 'bmi', '--json'], b.x)).toBe(0);
    const p = JSON.parse(b.out.join('\n')) as TablePreview;
    expect(p).toMatchObject({ target: 'bmi', task: 'regression', rowCount: 442 });
    expect(p.rows).toHaveLength(20);
  });

  it('reports bad files with the line and column, leaves no cache behind, and refuses bad flags', async () => {
    const data = join(root, 'data');
    const bad = join(root, 'prices.csv');
    writeFileSync(bad, 'item,price\n' + 'a,1\n'.repeat(15) + 'b,2,3\n');
    const a = io();
    expect(await main(['datasets', 'import', bad, '--data-dir', data], a.x)).toBe(1);
    expect(a.err.join('\n')).toMatch(/line 17 has 3 fields, the header has 2/);
    expect(existsSync(join(data, 'datasets')) ? readdirSync(join(data, 'datasets')) : []).toEqual([]);
    const b = io();
    expect(await main(['datasets', 'import', fixture('iris.csv'), '--target', 'colour', '--data-dir', data], b.x)).toBe(1);
    expect(b.err.join('\n')).toMatch(/There is no column 'colour' to predict; the columns are 'sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'/);
    const c = io();
    expect(await main(['datasets', 'import', fixture('iris.csv'), '--task', 'clustering'], c.x)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--task must be classification or regression/);
    const d = io();
    expect(await main(['datasets', 'import', fixture('iris.csv'), '--type', 'petal_width'], d.x)).toBe(2);
    const e = io();
    expect(await main(['datasets', 'import', root, '--as', 'folder', '--target', 'x'], e.x)).toBe(2);
    expect(e.err.join('\n')).toMatch(/--target applies to table imports only/);
    const f = io();
    expect(await main(['datasets', 'preview-table'], f.x)).toBe(2);
  });
});
