import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ApiError, createClient, ENGINE_NAMES, ENGINE_SPEC, inProcessPair, serveApi, type EngineApi } from '../../../../shared/api';
import { encodeRow } from '../../../../shared/tables/encode';
import type { TablePreprocessing } from '../../../../shared/tables/types';
import { createEngine } from '../../service/wiring';
import { commitCacheFolder } from '../cache';
import { createDatasetRegistry, detectImportKind } from '../index';
import { importTable, previewTable, tableDatasetName } from './index';

const FIXTURES = new URL('../../../../resources/fixtures/tables/', import.meta.url);
const fixture = (name: string) => new URL(name, FIXTURES).pathname;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lf-table-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const data = () => join(root, 'data');
const registry = () => createDatasetRegistry({ root: data(), env: {} });
/** Entries of the datasets folder (table-* folders, temporary folders, …). */
const cacheEntries = () => (existsSync(join(data(), 'datasets')) ? readdirSync(join(data(), 'datasets')) : []);

function columnStats(features: Float32Array, count: number, F: number, j: number) {
  let s = 0;
  for (let i = 0; i < count; i++) s += features[i * F + j]!;
  const mean = s / count;
  let ss = 0;
  for (let i = 0; i < count; i++) ss += (features[i * F + j]! - mean) ** 2;
  return { mean, std: Math.sqrt(ss / count) };
}

describe('real data (scikit-learn datasets as headered CSV)', () => {
  it('iris: 150 rows, 4 numeric features, 3 classes, classification; standardised on the training split', async () => {
    const reg = registry();
    const { info, table } = await reg.import(fixture('iris.csv'), { as: 'table', target: 'species' });
    expect(info).toMatchObject({
      id: 'table:iris', status: 'ready', kind: 'table', task: 'classification', target: 'species',
      inputShape: [4], classNames: ['setosa', 'versicolor', 'virginica'], trainSize: 120, testSize: 30,
      featureNames: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    });
    expect(table!.preprocessing.columns.map((c) => c.type)).toEqual(['numeric', 'numeric', 'numeric', 'numeric']);
    expect(table!.preprocessing.source).toMatchObject({ rows: 150, delimiter: ',' });
    expect(table!.droppedRows).toBe(0);
    const ds = await reg.load('table:iris');
    expect(ds.shape).toEqual([1, 1, 4]);
    expect(ds.train.images).toHaveLength(0);
    expect(ds.train.features).toHaveLength(120 * 4);
    expect(ds.test.features).toHaveLength(30 * 4);
    expect(ds.train.targets).toBeUndefined();
    for (let j = 0; j < 4; j++) {
      const s = columnStats(ds.train.features!, 120, 4, j);
      expect(Math.abs(s.mean)).toBeLessThan(1e-5);
      expect(s.std).toBeCloseTo(1, 4);
    }
    const counts = [0, 0, 0];
    for (const l of [...ds.train.labels, ...ds.test.labels]) counts[l]!++;
    expect(counts).toEqual([50, 50, 50]);
    // The test rows are stored raw, and their features are what encodeRow makes of them.
    expect(ds.table!.header).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species']);
    expect(ds.table!.testRows).toHaveLength(30);
    const pre = ds.table!.preprocessing;
    ds.table!.testRows.forEach((r, i) => {
      const row = Object.fromEntries(ds.table!.header.map((h, k) => [h, r[k]!]));
      expect([...ds.test.features!.subarray(i * 4, i * 4 + 4)]).toEqual([...encodeRow(pre, row)]);
      expect(pre.target.classes![ds.test.labels[i]!]).toBe(r[4]);
    });
  });

  it('diabetes: regression, target mean and std of the training rows recorded, standardised targets', async () => {
    const reg = registry();
    const { info, table } = await reg.import(fixture('diabetes.csv'), { target: 'progression' });
    expect(info).toMatchObject({ id: 'table:diabetes', task: 'regression', target: 'progression', classNames: [], trainSize: 354, testSize: 88 });
    const t = table!.preprocessing.target;
    expect(t.task).toBe('regression');
    const ds = await reg.load('table:diabetes');
    const testYs = new Set(ds.table!.testRows.map((r) => r.join(',')));
    const all = readFileSync(fixture('diabetes.csv'), 'utf8').trim().split('\n').slice(1);
    const trainYs = all.filter((l) => !testYs.has(l)).map((l) => Number(l.split(',').pop()));
    expect(trainYs).toHaveLength(354);
    const mean = trainYs.reduce((s, v) => s + v, 0) / trainYs.length;
    const std = Math.sqrt(trainYs.reduce((s, v) => s + (v - mean) ** 2, 0) / trainYs.length);
    expect(t.mean).toBeCloseTo(mean, 8);
    expect(t.std).toBeCloseTo(std, 8);
    expect(ds.train.targets).toHaveLength(354);
    expect(ds.test.targets).toHaveLength(88);
    expect([...ds.train.labels].every((l) => l === 0)).toBe(true);
    const s = columnStats(ds.train.targets!, 354, 1, 0);
    expect(Math.abs(s.mean)).toBeLessThan(1e-5);
    expect(s.std).toBeCloseTo(1, 4);
    // sex (1 or 2) becomes a category; the other nine are numbers.
    expect(table!.preprocessing.columns.find((c) => c.name === 'sex')).toMatchObject({ type: 'categorical', categories: ['1', '2'] });
    expect(info.featureNames).toHaveLength(11);
  });

  it('breast cancer: 569 rows, 30 features, 2 classes; wine: 178 rows, 13 features, 3 classes', async () => {
    const reg = registry();
    const bc = await reg.import(fixture('breast_cancer.csv'));
    expect(bc.info).toMatchObject({ task: 'classification', target: 'diagnosis', inputShape: [30], classNames: ['benign', 'malignant'] });
    expect(bc.info.trainSize + bc.info.testSize).toBe(569);
    expect(bc.table!.preprocessing.source.rows).toBe(569);
    const wine = await reg.import(fixture('wine.csv'));
    expect(wine.info).toMatchObject({ inputShape: [13], classNames: ['class_0', 'class_1', 'class_2'], trainSize: 142, testSize: 36 });
  });
});

describe('messy CSV', () => {
  it('quoted commas and line breaks, missing values of every kind, an id, a category and free text', async () => {
    const { info, report: table } = await importTable(fixture('houses_quoted.csv'), data(), { target: 'price' });
    const pre = table.preprocessing;
    expect(info).toMatchObject({ id: 'table:houses_quoted', task: 'regression', trainSize: 23, testSize: 6 });
    const by = Object.fromEntries((table!.columns ?? []).map((c) => [c.name, c.type]));
    expect(by).toEqual({ id: 'ignored', city: 'categorical', rooms: 'categorical', area_m2: 'numeric', description: 'ignored', built: 'numeric', price: 'numeric' });
    expect(pre.columns.find((c) => c.name === 'city')).toMatchObject({ categories: expect.arrayContaining(['New York, NY', '(missing)']) });
    expect(pre.columns.find((c) => c.name === 'description')).toMatchObject({ type: 'ignored', reason: expect.stringMatching(/^free text/) });
    expect(table!.droppedRows).toBe(1);
    expect(table!.filled).toEqual({ city: 3, area_m2: 6 });
    expect(pre.columns.find((c) => c.name === 'area_m2')).toMatchObject({ missing: 6 });
  });

  it('semicolons with decimal points; BOM with CRLF and a quoted header', async () => {
    const wine = await importTable(fixture('wine_quality_semicolon.csv'), data(), {});
    expect(wine.report.preprocessing.source.delimiter).toBe(';');
    expect(wine.info).toMatchObject({ task: 'classification', classNames: ['bad', 'good'] });
    expect(wine.report.preprocessing.columns[0]).toMatchObject({ name: 'sample', type: 'ignored' });
    expect(wine.report.preprocessing.columns[1]).toMatchObject({ name: 'temperature', type: 'numeric' });
    const churn = await importTable(fixture('churn_bom_crlf.csv'), data(), {});
    expect(churn.report.preprocessing.source.header).toEqual(['customer id', 'age', 'plan', 'monthly_fee', 'churned']);
    expect(churn.info).toMatchObject({ task: 'classification', classNames: ['0', '1'], target: 'churned' });
    expect(churn.report.filled).toEqual({ age: 3 });
  });
});

describe('the cache', () => {
  it('writes data.bin, preprocessing.json, test-rows.json and meta.json, and nothing else', async () => {
    const reg = registry();
    await reg.import(fixture('iris.csv'));
    expect(cacheEntries()).toEqual(['table-iris']);
    const dir = join(data(), 'datasets', 'table-iris');
    expect(readdirSync(dir).sort()).toEqual(['data.bin', 'meta.json', 'preprocessing.json', 'test-rows.json']);
    const pre = JSON.parse(readFileSync(join(dir, 'preprocessing.json'), 'utf8')) as TablePreprocessing;
    expect(pre).toMatchObject({ format: 'layerforge-table-preprocessing', version: 1, split: { seed: 42, testFraction: 0.2, trainRows: 120, testRows: 30 } });
    const rows = JSON.parse(readFileSync(join(dir, 'test-rows.json'), 'utf8')) as { header: string[]; rows: string[][] };
    expect(rows.rows).toEqual((await reg.load('table:iris')).table!.testRows);
  });

  it('a failed import leaves nothing behind, not even a temporary folder, and keeps an earlier import', async () => {
    const reg = registry();
    const bad = join(root, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n3,4,5\n');
    await expect(reg.import(bad)).rejects.toMatchObject({ code: 'ragged-row', line: 3 });
    expect(cacheEntries()).toEqual([]);
    expect((await reg.info('table:bad')).status).toBe('error');
    // Re-importing over a good dataset: a failure keeps it.
    const good = join(root, 'pets.csv');
    writeFileSync(good, 'w,kind\n1,cat\n2,dog\n3,cat\n4,dog\n5,cat\n');
    await reg.import(good);
    writeFileSync(good, 'w,kind\n1,cat\n"2,dog\n');
    await expect(reg.import(good)).rejects.toMatchObject({ code: 'unterminated-quote' });
    expect(cacheEntries()).toEqual(['table-pets']);
    expect((await reg.info('table:pets')).status).toBe('ready');
    // A success replaces it.
    writeFileSync(good, 'w,kind\n1,cat\n2,dog\n3,cat\n4,dog\n5,cat\n6,cow\n');
    expect((await reg.import(good, { testFraction: 0.5, seed: 1 })).info).toMatchObject({ classNames: ['cat', 'cow', 'dog'], trainSize: 3, testSize: 3 });
    expect(cacheEntries()).toEqual(['table-pets']);
  });

  it('commitCacheFolder removes its temporary folder when writing fails', async () => {
    const dir = join(data(), 'datasets', 'table-x');
    await expect(commitCacheFolder(dir, async (tmp) => {
      writeFileSync(join(tmp, 'data.bin'), 'partial');
      throw new Error('disk full');
    })).rejects.toThrow('disk full');
    expect(cacheEntries()).toEqual([]);
  });

  it('a damaged cache is listed as an error naming the file; a missing one as missing', async () => {
    const reg = registry();
    await reg.import(fixture('iris.csv'));
    unlinkSync(join(data(), 'datasets', 'table-iris', 'data.bin'));
    const listed = (await reg.list()).find((d) => d.id === 'table:iris');
    expect(listed).toMatchObject({ status: 'error', message: expect.stringMatching(/data\.bin is missing/) });
    await expect(reg.load('table:iris')).rejects.toThrow(/not ready/);
    expect(await reg.info('table:never')).toMatchObject({ status: 'missing', kind: 'table' });
  });
});

describe('the registry', () => {
  it('guesses a table from .csv, .tsv and delimited .txt files', () => {
    mkdirSync(join(root, 'f'));
    const write = (n: string, t: string) => {
      writeFileSync(join(root, 'f', n), t);
      return join(root, 'f', n);
    };
    expect(detectImportKind(write('a.csv', 'x'))).toBe('table');
    expect(detectImportKind(write('a.TSV', 'x'))).toBe('table');
    expect(detectImportKind(write('a.txt', 'a|b\n1|2\n3|4\n'))).toBe('table');
    expect(() => detectImportKind(write('notes.txt', 'just some words\nand more\n'))).toThrow(/Cannot tell what/);
  });

  it('lists tables, gets them by id, previews them without images, and names datasets from files', async () => {
    const reg = registry();
    await reg.import(fixture('iris.csv'), { name: 'Iris Flowers' });
    const listed = (await reg.list()).find((d) => d.id === 'table:iris-flowers');
    expect(listed).toMatchObject({ status: 'ready', name: 'Iris Flowers', kind: 'table' });
    expect((await reg.get('table:iris-flowers').info()).trainSize).toBe(120);
    const p = await reg.preview('table:iris-flowers', 4);
    expect(p).toMatchObject({ classNames: ['setosa', 'versicolor', 'virginica'], samples: [] });
    expect(p.trainCounts.reduce((a, b) => a + b) + p.testCounts.reduce((a, b) => a + b)).toBe(150);
    await reg.import(fixture('diabetes.csv'));
    expect(await reg.preview('table:diabetes')).toMatchObject({ classNames: [], trainCounts: [], samples: [] });
    expect(tableDatasetName('My Data.CSV')).toBe('my-data');
    await expect(reg.import(fixture('iris.csv'), { as: 'mnist', name: 'x' })).rejects.toThrow(/folder and table imports only/);
  });

  it('previewTable: delimiter, first rows, column types, task and classes (target: the last column by default)', async () => {
    const p = await previewTable(fixture('iris.csv'), { rows: 3 });
    expect(p).toMatchObject({ delimiter: ',', rowCount: 150, target: 'species', task: 'classification', classes: ['setosa', 'versicolor', 'virginica'], warnings: [] });
    expect(p.rows).toEqual([['5.1', '3.5', '1.4', '0.2', 'setosa'], ['4.9', '3.0', '1.4', '0.2', 'setosa'], ['4.7', '3.2', '1.3', '0.2', 'setosa']]);
    expect(p.columns[0]).toMatchObject({ name: 'sepal_length', type: 'numeric', missing: 0, min: 4.3, max: 7.9 });
    const h = await previewTable(fixture('houses_quoted.csv'), { target: 'price' });
    expect(h.rows).toHaveLength(20);
    expect(h.task).toBe('regression');
    expect(h.classes).toBeUndefined();
    expect(h.warnings).toContain("1 row has no value for the target 'price' and will be dropped.");
    await expect(previewTable(fixture('iris.csv'), { target: 'colour' })).rejects.toMatchObject({ code: 'no-such-column' });
  });
});

describe('the engine API', () => {
  it('previewTable and importDataset with table options; table problems are bad requests with line and column', async () => {
    const engine = createEngine({ dataDir: data(), host: 'test' });
    const [c, s] = inProcessPair();
    serveApi(ENGINE_SPEC, engine, s);
    const client = createClient<EngineApi>(ENGINE_NAMES, c);
    const p = await client.previewTable({ path: fixture('wine.csv'), rows: 2 });
    expect(p).toMatchObject({ target: 'cultivar', rowCount: 178 });
    expect(p.rows).toHaveLength(2);
    const info = await client.importDataset({ path: fixture('diabetes.csv'), as: 'table', name: 'sugar', target: 'progression', task: 'regression', testFraction: 0.25, seed: 7, columnTypes: { sex: 'numeric' } });
    expect(info).toMatchObject({ id: 'table:sugar', task: 'regression', trainSize: 331, testSize: 111, inputShape: [10] });
    expect((await client.listDatasets()).map((d) => d.id)).toContain('table:sugar');
    const bad = join(root, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\nx,y,z\n');
    const error = await client.previewTable({ path: bad }).catch((e: unknown) => e as ApiError);
    expect(error).toMatchObject({ code: 'bad-request', message: 'line 3 has 3 fields, the header has 2 (delimiter: comma).', details: { reason: 'ragged-row', line: 3 } });
    const wrong = await client.importDataset({ path: fixture('iris.csv'), target: 'colour' }).catch((e: unknown) => e as ApiError);
    expect(wrong).toMatchObject({ code: 'bad-request', details: { reason: 'no-such-column', column: 'colour' } });
    await expect(client.previewTable({ path: fixture('iris.csv'), rows: -1 })).rejects.toMatchObject({ code: 'bad-request' });
  });
});
