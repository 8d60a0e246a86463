/**
 * The table journey through the CLI on real data (sklearn's iris and diabetes, resources/fixtures/tables):
 * datasets import --as table, train (fitted template) --out, predict --csv.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../index';
import type { CliIO } from '../command';
import { csvField, predictionsCsv } from './predict';

const FIXTURES = resolve('resources/fixtures/tables');

function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), isTTY: false };
}

const before = process.env.LAYERFORGE_DATA_DIR;
let dataDir = '';
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'lf-predict-'));
  process.env.LAYERFORGE_DATA_DIR = dataDir;
});
afterAll(() => {
  if (before === undefined) delete process.env.LAYERFORGE_DATA_DIR;
  else process.env.LAYERFORGE_DATA_DIR = before;
});

async function run(args: string[]): Promise<{ code: number; io: ReturnType<typeof capture> }> {
  const io = capture();
  const code = await main(args, io);
  return { code, io };
}

describe('layerforge predict (tables)', () => {
  it('iris: import, train the fitted classifier template, predict a CSV with a bad row', { timeout: 120_000 }, async () => {
    const imp = await run(['datasets', 'import', join(FIXTURES, 'iris.csv'), '--as', 'table', '--target', 'species', '--name', 'iris', '--json']);
    expect(imp.code, imp.io.stderr.join('\n')).toBe(0);
    const out = join(dataDir, 'iris-model');
    const train = await run(['train', 'resources/templates/tabular-classifier.json', '--dataset', 'table:iris', '--epochs', '60', '--backend', 'cpu', '--seed', '1', '--out', out, '--json']);
    expect(train.code, train.io.stderr.join('\n')).toBe(0);
    const summary = JSON.parse(train.io.stdout.at(-1)!) as Record<string, unknown>;
    expect(summary).toMatchObject({ task: 'classification', dataset: 'table:iris' });
    expect(summary.testAccuracy as number).toBeGreaterThanOrEqual(0.9);
    expect(summary.fitted).toBeUndefined(); // the template already has 4 features and 3 classes
    expect(JSON.parse(readFileSync(join(out, 'preprocessing.json'), 'utf8'))).toMatchObject({ format: 'layerforge-table-preprocessing', target: { name: 'species', task: 'classification' } });

    // New rows: the file's own rows (target column kept), one with a word in a numeric column.
    const rows = readFileSync(join(FIXTURES, 'iris.csv'), 'utf8').trim().split('\n');
    const csv = join(dataDir, 'new.csv');
    writeFileSync(csv, [rows[0], rows[1], rows[60], rows[145], '5.0,abc,1.4,0.2,setosa'].join('\n') + '\n');
    const outCsv = join(dataDir, 'pred.csv');
    const p = await run(['predict', out, '--csv', csv, '--out', outCsv]);
    expect(p.code, p.io.stderr.join('\n')).toBe(0);
    expect(p.io.stderr.join('\n')).toMatch(/Predicted 3 of 4 rows/);
    expect(p.io.stderr.join('\n')).toMatch(/skipped: .*sepal_width.*abc/);
    const lines = readFileSync(outCsv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('sepal_length,sepal_width,petal_length,petal_width,species,predicted_species,probability,error');
    expect(lines[1]).toMatch(/,setosa,setosa,[01]\.\d+,$/);
    expect(lines[2]).toMatch(/,versicolor,versicolor,[01]\.\d+,$/);
    expect(lines[3]).toMatch(/,virginica,virginica,[01]\.\d+,$/);
    expect(lines[4]).toMatch(/^5\.0,abc,.*,,,.*abc/);

    const missing = join(dataDir, 'missing.csv');
    writeFileSync(missing, 'sepal_length,petal_length\n5,1\n');
    const m = await run(['predict', out, '--csv', missing]);
    expect(m.code).toBe(1);
    expect(m.io.stderr.join('\n')).toMatch(/lack the columns 'sepal_width', 'petal_width'/);
  });

  it('diabetes: regression summary has task, testR2, testMAE, testRMSE; predictions are in the target units', { timeout: 120_000 }, async () => {
    const imp = await run(['datasets', 'import', join(FIXTURES, 'diabetes.csv'), '--as', 'table', '--target', 'progression', '--name', 'diabetes', '--json']);
    expect(imp.code, imp.io.stderr.join('\n')).toBe(0);
    const out = join(dataDir, 'diabetes-model');
    const train = await run(['train', 'resources/templates/tabular-regression.json', '--dataset', 'table:diabetes', '--epochs', '40', '--backend', 'cpu', '--seed', '1', '--out', out, '--json']);
    expect(train.code, train.io.stderr.join('\n')).toBe(0);
    const s = JSON.parse(train.io.stdout.at(-1)!) as Record<string, number | string>;
    expect(s.task).toBe('regression');
    expect(s.fitted).toEqual(['input_1: 11 features (was 4)']); // 9 numeric columns + sex one-hot (2 categories)
    expect(s.testAccuracy).toBeUndefined();
    expect(s.testR2).toBeGreaterThan(0.3);
    expect(s.testMAE).toBeGreaterThan(20); // disease progression is 25..346: errors in its own units
    expect(s.testRMSE).toBeGreaterThanOrEqual(s.testMAE as number);
    const p = await run(['predict', out, '--csv', join(FIXTURES, 'diabetes.csv'), '--json']);
    expect(p.code).toBe(0);
    const r = JSON.parse(p.io.stdout.join('')) as { task: string; items: { predicted: number; values: string[] }[] };
    expect(r.task).toBe('regression');
    expect(r.items).toHaveLength(442);
    const mean = r.items.reduce((a, i) => a + i.predicted, 0) / r.items.length;
    expect(mean).toBeGreaterThan(100);
    expect(mean).toBeLessThan(200);
  });

  it('quotes CSV fields that need it', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('plain')).toBe('plain');
    expect(csvField('x;y', ';')).toBe('"x;y"');
    expect(predictionsCsv({ task: 'regression', target: 'y', classNames: [], header: ['a'], total: 1, items: [{ values: ['1'], predicted: 2.5 }] })).toBe('a,predicted_y\n1,2.5\n');
  });
});
