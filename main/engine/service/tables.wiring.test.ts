/**
 * A table through the real engine (the API the app uses): preview and import a CSV, a model that does
 * not fit the task is refused naming its output node, the fitted template trains in a worker, the
 * evaluation carries the test metrics, the regression points and the worst rows, and new rows are
 * predicted from a form and from a file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainingEnded } from '../../../shared/api';
import { parseProjectText } from '../../../shared/project';
import { fitGraphToDataset } from '../../../shared/tasks';
import { createEngine } from './wiring';

const dir = mkdtempSync(join(tmpdir(), 'lf-wiring-tables-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURES = resolve('resources/fixtures/tables');
const template = (name: string) => parseProjectText(readFileSync(resolve(`resources/templates/${name}.json`), 'utf8'));

describe('tables through the engine API', () => {
  it('diabetes regression: preview, import, task check, train, evaluate (points, worst rows), predict rows', { timeout: 120_000 }, async () => {
    const engine = createEngine({ dataDir: join(dir, 'data'), host: 'test' });
    try {
      const csv = join(FIXTURES, 'diabetes.csv');
      const preview = await engine.previewTable({ path: csv, target: 'progression', rows: 5 });
      expect(preview).toMatchObject({ target: 'progression', task: 'regression', rowCount: 442 });
      expect(preview.rows).toHaveLength(5);
      const info = await engine.importDataset({ path: csv, as: 'table', target: 'progression', name: 'diabetes', seed: 3 });
      expect(info).toMatchObject({ id: 'table:diabetes', kind: 'table', task: 'regression', target: 'progression', status: 'ready' });

      const reg = template('tabular-regression');
      // The classifier template's softmax output does not fit a regression target: refused, pinned to the output node.
      const wrong = fitGraphToDataset(template('tabular-classifier').graph, { ...info, task: 'classification', classNames: ['a', 'b', 'c'] }).graph;
      await expect(engine.startTraining({ graph: wrong, datasetId: info.id, settings: { ...reg.training, epochs: 1 } })).rejects.toMatchObject({
        code: 'bad-request',
        details: { problems: [expect.objectContaining({ code: 'task', nodeId: 'out', message: expect.stringMatching(/output: a regression target needs an output of size 1/) })] },
      });

      const graph = fitGraphToDataset(reg.graph, info).graph;
      const ended = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
      const run = await engine.startTraining({ graph, datasetId: info.id, settings: { ...reg.training, epochs: 30, backend: 'cpu' } });
      expect(run).toMatchObject({ task: 'regression', target: 'progression' });
      const end = await ended;
      expect(end.status, end.error).toBe('completed');
      expect(end.summary.testMetrics!.r2).toBeGreaterThan(0.2);
      expect(end.summary.testAccuracy).toBeUndefined();
      const detail = await engine.getRun({ runId: run.id });
      expect(detail.epochPoints[0]!.metrics).toHaveProperty('mae');
      expect(detail.epochPoints[0]!.accuracy).toBeUndefined();
      const ev = detail.evaluation!;
      expect(ev.task).toBe('regression');
      expect(ev.count).toBe(info.testSize);
      expect(ev.points).toHaveLength(info.testSize);
      expect(ev.rows!.header).toContain('progression');
      expect(ev.rows!.items.length).toBeGreaterThan(0);
      const errs = ev.rows!.items.map((i) => Math.abs(i.error!));
      expect([...errs].sort((a, b) => b - a)).toEqual(errs); // worst first
      expect(Number(ev.rows!.items[0]!.values[ev.rows!.header.indexOf('progression')])).toBeCloseTo(ev.rows!.items[0]!.truth as number, 3);
      expect((await engine.predict({ runId: run.id })).items).toEqual([]);

      const typed = await engine.predictRows({ runId: run.id, rows: [{ age: '59', sex: '2', bmi: '32.1', bp: '101', s1: '157', s2: '93.2', s3: '38', s4: '4', s5: '4.8598', s6: '87' }, { age: 'old', sex: '2', bmi: '1', bp: '1', s1: '1', s2: '1', s3: '1', s4: '1', s5: '1', s6: '1' }] });
      expect(typed.task).toBe('regression');
      expect(typed.items[0]!.predicted as number).toBeGreaterThan(25);
      expect(typed.items[1]!.error).toMatch(/age.*old/);
      const file = join(dir, 'rows.csv');
      writeFileSync(file, readFileSync(csv, 'utf8').split('\n').slice(0, 11).join('\n'));
      const fromFile = await engine.predictRows({ runId: run.id, csvPath: file });
      expect(fromFile.total).toBe(10);
      expect(fromFile.items.every((i) => typeof i.predicted === 'number')).toBe(true);
      await expect(engine.predictRows({ runId: run.id, rows: [{ age: '1' }] })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/lack the columns/) });
    } finally {
      await engine.dispose();
    }
  });

  it('iris classification: misclassified rows with confidence in the evaluation', { timeout: 120_000 }, async () => {
    const engine = createEngine({ dataDir: join(dir, 'data2'), host: 'test' });
    try {
      const info = await engine.importDataset({ path: join(FIXTURES, 'iris.csv'), as: 'table', target: 'species', name: 'iris' });
      const t = template('tabular-classifier');
      const ended = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
      const run = await engine.startTraining({ graph: fitGraphToDataset(t.graph, info).graph, datasetId: info.id, settings: { ...t.training, epochs: 40, backend: 'cpu' } });
      const end = await ended;
      expect(end.status, end.error).toBe('completed');
      expect(end.summary.testAccuracy).toBeGreaterThan(0.8);
      const ev = (await engine.getRun({ runId: run.id })).evaluation!;
      expect(ev.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
      expect(ev.metrics!.accuracy).toBe(ev.accuracy);
      for (const item of ev.rows!.items) {
        expect(item.truth).not.toBe(item.predicted);
        expect(item.confidence).toBeGreaterThan(0);
      }
      const p = await engine.predictRows({ runId: run.id, rows: [{ sepal_length: '5.1', sepal_width: '3.5', petal_length: '1.4', petal_width: '0.2' }] });
      expect(p.items[0]).toMatchObject({ predicted: 'setosa' });
      expect(p.items[0]!.probabilities).toHaveLength(3);
    } finally {
      await engine.dispose();
    }
  });
});
