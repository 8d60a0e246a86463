/**
 * Predictions for new table rows: the stored preprocessing turns raw cells into the model's
 * standardised features, the model runs on the rows that encode, and each row gets its class and
 * probability (or its value in the target's units) or the reason it could not be used. Shared by the
 * engine's `predictRows` request and `layerforge predict`.
 */
import type { RowPredictions } from '../../../shared/api/engine';
import { encodeRows } from '../../../shared/tables/encode';
import type { TablePreprocessing } from '../../../shared/tables/types';

/** Runs the model on `count` standardised rows: class probabilities, or [value] in the target's units. */
export type RunFeatures = (features: Float32Array, count: number) => Promise<number[][]>;

export class RowInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowInputError';
  }
}

export async function predictTableRows(
  pre: TablePreprocessing,
  header: readonly string[],
  rows: readonly (readonly string[])[],
  run: RunFeatures,
  opts: { lines?: ArrayLike<number>; maxRows?: number } = {},
): Promise<RowPredictions> {
  const used = pre.columns.filter((c) => c.type !== 'ignored').map((c) => c.name);
  const absent = used.filter((c) => !header.includes(c));
  if (absent.length) {
    throw new RowInputError(`the rows lack ${absent.length === 1 ? 'the column' : 'the columns'} ${absent.map((c) => `'${c}'`).join(', ')} that the model was trained on (expected: ${used.join(', ')})`);
  }
  const total = rows.length;
  const take = rows.slice(0, opts.maxRows ?? total);
  const enc = encodeRows(pre, header, take, { ...(opts.lines ? { lines: opts.lines } : {}), maxErrors: take.length });
  const bad = new Map<number, string>();
  for (const e of enc.errors) {
    const r = e.row ?? (e.line !== undefined && opts.lines ? Array.prototype.indexOf.call(opts.lines, e.line) : -1);
    if (r >= 0 && !bad.has(r)) bad.set(r, e.message);
  }
  const good = take.map((_, i) => i).filter((i) => !bad.has(i));
  const F = enc.features;
  const features = new Float32Array(good.length * F);
  good.forEach((r, k) => features.set(enc.values.subarray(r * F, (r + 1) * F), k * F));
  const outputs = good.length ? await run(features, good.length) : [];
  const byRow = new Map(good.map((r, k) => [r, outputs[k]!]));
  const classes = pre.target.classes ?? [];
  const regression = pre.target.task === 'regression';
  return {
    task: pre.target.task,
    target: pre.target.name,
    classNames: regression ? [] : classes,
    header: [...header],
    total,
    items: take.map((row, i) => {
      const values = [...row];
      const out = byRow.get(i);
      if (!out) return { values, error: bad.get(i) ?? 'not predicted' };
      if (regression) return { values, predicted: out[0]! };
      let best = 0;
      for (let c = 1; c < out.length; c++) if (out[c]! > out[best]!) best = c;
      return { values, predicted: classes[best] ?? String(best), confidence: out[best]!, probabilities: out };
    }),
  };
}
