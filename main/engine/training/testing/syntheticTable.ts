/** A synthetic table dataset (already standardised, like the CSV importer's output), for trainer tests. */
import type { TablePreprocessing } from '../../../../shared/tables/types';
import type { LoadedDataset, Split } from '../../datasets/types';
import { seededRandom } from '../data';

export interface SyntheticTableOptions {
  features: number;
  train: number;
  test: number;
  /** 'regression': y = 150 + 40 * (2 x0 - x1 + 0.5 x2) + noise; otherwise the number of classes (by the sign/bins of the same score). */
  task: 'regression' | number;
  seed?: number;
}

export function syntheticTable(o: SyntheticTableOptions): LoadedDataset {
  const rand = seededRandom(o.seed ?? 7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const regression = o.task === 'regression';
  const classes = regression ? 0 : (o.task as number);
  const make = (count: number) => {
    const x = new Float32Array(count * o.features);
    const score = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < o.features; j++) x[i * o.features + j] = normal();
      score[i] = 2 * x[i * o.features]! - (o.features > 1 ? x[i * o.features + 1]! : 0) + (o.features > 2 ? 0.5 * x[i * o.features + 2]! : 0);
    }
    return { x, score };
  };
  const a = make(o.train);
  const b = make(o.test);
  const y = (s: Float64Array) => Float64Array.from(s, (v) => 150 + 40 * (v + 0.1 * normal()));
  const ya = y(a.score);
  const mean = ya.reduce((p, v) => p + v, 0) / ya.length;
  const std = Math.sqrt(ya.reduce((p, v) => p + (v - mean) ** 2, 0) / ya.length);
  const label = (v: number) => Math.min(classes - 1, Math.max(0, Math.floor(((v + 2.5) / 5) * classes)));
  const split = (d: { x: Float32Array; score: Float64Array }, yy: Float64Array | null): Split => ({
    count: d.score.length,
    images: new Uint8Array(0),
    labels: regression ? new Uint8Array(d.score.length) : Uint8Array.from(d.score, (v) => label(v)),
    features: d.x,
    ...(yy ? { targets: Float32Array.from(yy, (v) => (v - mean) / std) } : {}),
  });
  const names = Array.from({ length: o.features }, (_, j) => `x${j}`);
  const classNames = regression ? [] : Array.from({ length: classes }, (_, k) => `c${k}`);
  const pre: TablePreprocessing = {
    format: 'layerforge-table-preprocessing',
    version: 1,
    columns: names.map((name) => ({ name, type: 'numeric', mean: 0, std: 1, missing: 0 })),
    target: regression ? { name: 'y', task: 'regression', mean, std, droppedRows: 0 } : { name: 'y', task: 'classification', classes: classNames, droppedRows: 0 },
    featureNames: names,
    featureMean: names.map(() => 0),
    featureStd: names.map(() => 1),
    split: { seed: o.seed ?? 7, testFraction: o.test / (o.train + o.test), trainRows: o.train, testRows: o.test },
    source: { file: 'synthetic.csv', delimiter: ',', rows: o.train + o.test, header: [...names, 'y'] },
  };
  const yb = regression ? y(b.score) : null;
  const testRows = Array.from({ length: o.test }, (_, i) => [...names.map((_, j) => String(b.x[i * o.features + j])), regression ? String(yb![i]) : classNames[label(b.score[i]!)]!]);
  return {
    info: {
      id: 'table:synthetic',
      name: 'synthetic',
      inputShape: [o.features],
      classNames,
      trainSize: o.train,
      testSize: o.test,
      license: 'synthetic',
      homepage: '',
      status: 'ready',
      downloadable: false,
      kind: 'table',
      task: regression ? 'regression' : 'classification',
      target: 'y',
      featureNames: names,
    },
    shape: [1, 1, o.features],
    train: split(a, regression ? ya : null),
    test: split(b, yb),
    table: { preprocessing: pre, testRows, header: [...names, 'y'] },
  };
}
