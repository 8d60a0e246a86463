/**
 * Results that teach (issue #19): precision, recall, F1 and support per class beside the confusion matrix, and
 * the test samples behind a confusion cell (each with "Why?" for images and a way to its activations).
 */
import { useEffect, useState } from 'react';
import type { Evaluation } from '../../../shared/api';
import type { ConfusionSamples } from '../../../shared/api/insight';
import { pct } from '../training/chartData';
import { insight, insightApi } from './insightStore';
import { averages, classMetrics } from './insightView';
import { SampleBody } from './SampleView';
import './insight.css';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The per-class table: precision (of the samples predicted as the class, how many are it), recall (of the class's samples, how many were found), F1 and support. */
export function ClassMetricsTable({ evaluation, noun }: { evaluation: Evaluation; noun: string }) {
  const rows = classMetrics(evaluation);
  const avg = averages(rows);
  const cell = (v: number) => (
    <td className="lf-ins-metric">
      <span className="lf-ins-metric-bar" style={{ width: `${Math.round(v * 100)}%` }} />
      <span className="lf-ins-metric-val">{pct(v)}</span>
    </td>
  );
  return (
    <div className="lf-ins-table-wrap">
      <table className="lf-ins-table lf-ins-classes" data-testid="per-class">
        <thead>
          <tr>
            <th>class</th>
            <th title="Of the test samples predicted as this class, the share that are it">precision</th>
            <th title="Of this class's test samples, the share predicted as it (the class's accuracy)">recall</th>
            <th title="The harmonic mean of precision and recall">F1</th>
            <th title={`Test ${noun} of this class`}>support</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.className} data-testid="per-class-row" data-class={r.className} title={`${r.support} test ${noun} are ${r.className}; ${r.predicted} were predicted as it`}>
              <th className="lf-ins-classname">{r.className}</th>
              {cell(r.precision)}
              {cell(r.recall)}
              {cell(r.f1)}
              <td className="lf-ins-num">{r.support.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr title="Every class counts alike">
            <th>macro average</th>
            <td className="lf-ins-num">{pct(avg.macro.precision)}</td>
            <td className="lf-ins-num">{pct(avg.macro.recall)}</td>
            <td className="lf-ins-num">{pct(avg.macro.f1)}</td>
            <td className="lf-ins-num">{avg.macro.support.toLocaleString()}</td>
          </tr>
          <tr title="Each class counts by its number of test samples">
            <th>weighted average</th>
            <td className="lf-ins-num">{pct(avg.weighted.precision)}</td>
            <td className="lf-ins-num">{pct(avg.weighted.recall)}</td>
            <td className="lf-ins-num">{pct(avg.weighted.f1)}</td>
            <td className="lf-ins-num">{avg.weighted.support.toLocaleString()}</td>
          </tr>
        </tfoot>
      </table>
      <div className="lf-muted lf-ins-note">
        On {evaluation.count.toLocaleString()} test {noun}.
      </div>
    </div>
  );
}

/** The samples of one confusion cell (true class `actual`, predicted `predicted`). */
export function ConfusionSamplesPanel({ runId, actual, predicted, evaluation, noun, onClose }: { runId: string; actual: number; predicted: number; evaluation: Evaluation; noun: string; onClose: () => void }) {
  const [data, setData] = useState<ConfusionSamples | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    setData(null);
    setError(null);
    insightApi()
      .confusionSamples({ runId, actual, predicted, limit: 24 })
      .then((d) => alive && setData(d))
      .catch((e: unknown) => alive && setError(message(e)));
    return () => {
      alive = false;
    };
  }, [runId, actual, predicted]);
  const names = evaluation.classNames;
  const right = actual === predicted;
  return (
    <div className="lf-ins-cell" data-testid="confusion-samples" data-actual={actual} data-predicted={predicted}>
      <div className="lf-ins-cell-head">
        <span>
          true <b>{names[actual]}</b>, predicted <b className={right ? undefined : 'lf-ins-wrong'}>{names[predicted]}</b>
          {data ? `: ${data.total.toLocaleString()} test ${noun}${data.items.length < data.total ? ` (first ${data.items.length} shown)` : ''}` : ''}
        </span>
        <button className="lf-btn lf-btn-ghost" onClick={onClose} aria-label="Close the samples" data-testid="confusion-samples-close">
          ×
        </button>
      </div>
      {error && (
        <div className="lf-train-error" role="alert" data-testid="confusion-samples-error">
          {error}
        </div>
      )}
      {!data && !error && <div className="lf-muted">Reading…</div>}
      {data && data.items.length === 0 && <div className="lf-muted">No test {noun} in this cell.</div>}
      {data && data.items.length > 0 && (
        <div className={data.items[0]!.view.kind === 'image' ? 'lf-ins-cell-grid' : 'lf-ins-cell-list'}>
          {data.items.map((s) => (
            <figure key={s.index} className="lf-ins-cell-item" data-testid="confusion-sample" data-index={s.index}>
              <SampleBody view={s.view} size={56} />
              <figcaption>
                <span className="lf-muted">#{s.index}</span>
                {s.predicted !== null && s.probabilities?.[s.predicted] !== undefined && <span className="lf-muted"> · {pct(s.probabilities[s.predicted])}</span>}
                <span className="lf-ins-cell-actions">
                  {s.view.kind === 'image' && (
                    <button className="lf-link" onClick={() => insight.openExplain({ runId, sample: s.index, method: 'gradcam' })} data-testid="confusion-sample-why">
                      Why?
                    </button>
                  )}
                  <button className="lf-link" onClick={() => insight.openActivations(runId, s.index)} title="Pick this sample for the activations view (click a node on the canvas)">
                    Inside
                  </button>
                </span>
              </figcaption>
            </figure>
          ))}
        </div>
      )}
    </div>
  );
}
