import { useState, type KeyboardEvent, type ReactNode } from 'react';
import type { DatasetInfo, Evaluation, Predictions, RunDetail } from '../../../shared/api';
import type { ResultView, TaskDef } from '../../../shared/tasks';
import { pct } from './chartData';
import { sampleNoun } from './DatasetSection';
import { PerplexityView, WritingView } from './LanguageViews';
import { PredictPanel } from './PredictPanel';
import { ResultRowsTable } from './ResultRows';
import { ResidualHistogram, ScatterPlot } from './lazyCharts';
import { MisclassifiedTexts, PredictTextPanel } from './TextResults';
import { formatMetric, headlineMetric, taskOf, testMetric } from './taskMetrics';
import { ClassMetricsTable, ConfusionSamplesPanel } from '../insight/ResultsInsight';
import { insight } from '../insight/insightStore';

/** Confusion matrix heat map: rows are true classes, columns predictions; colour by row share. With `onCell`, a cell can be clicked (its samples). */
export function ConfusionMatrix({ evaluation, onCell, selected }: { evaluation: Evaluation; onCell?: (actual: number, predicted: number) => void; selected?: readonly [number, number] | null }) {
  const { classNames, confusion } = evaluation;
  return (
    <div className="lf-confusion-wrap">
      <table className="lf-confusion" data-testid="confusion-matrix">
        <thead>
          <tr>
            <th className="lf-confusion-corner">true \ predicted</th>
            {classNames.map((c) => (
              <th key={c} className="lf-confusion-col" title={c}>
                <span>{c}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {confusion.map((row, i) => {
            const total = row.reduce((a, b) => a + b, 0) || 1;
            return (
              <tr key={i}>
                <th className="lf-confusion-row">{classNames[i]}</th>
                {row.map((n, j) => {
                  const share = n / total;
                  const bg = i === j ? `rgba(18, 128, 92, ${0.12 + share * 0.88})` : `rgba(217, 45, 32, ${n ? 0.1 + share * 0.9 : 0})`;
                  const on = selected?.[0] === i && selected[1] === j;
                  return (
                    <td
                      key={j}
                      className={`${onCell && n ? 'lf-confusion-click' : ''}${on ? ' on' : ''}`}
                      style={{ background: bg, color: share > 0.55 ? '#fff' : undefined }}
                      title={`true ${classNames[i]}, predicted ${classNames[j]}: ${n} (${pct(share)})${onCell && n ? ': click to see them' : ''}`}
                      data-testid="confusion-cell"
                      data-actual={i}
                      data-predicted={j}
                      data-count={n}
                      {...(onCell && n
                        ? {
                            role: 'button',
                            tabIndex: 0,
                            onClick: () => onCell(i, j),
                            onKeyDown: (e: KeyboardEvent) => {
                              if (e.key === 'Enter' || e.key === ' ') {
                                e.preventDefault();
                                onCell(i, j);
                              }
                            },
                          }
                        : {})}
                    >
                      {n || ''}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function PerClass({ evaluation, unit = 'images' }: { evaluation: Evaluation; unit?: string }) {
  return (
    <div className="lf-perclass" data-testid="per-class">
      {evaluation.perClass.map((c) => (
        <div key={c.className} className="lf-perclass-row" title={`${c.count} test ${unit}`}>
          <span className="lf-perclass-name">{c.className}</span>
          <span className="lf-perclass-bar">
            <span style={{ width: `${(c.accuracy * 100).toFixed(1)}%` }} />
          </span>
          <span className="lf-perclass-val">{pct(c.accuracy)}</span>
        </div>
      ))}
    </div>
  );
}

/** The confusion matrix whose cells open their samples (runs with a model). */
function ConfusionView({ run, evaluation, noun }: { run: RunDetail; evaluation: Evaluation; noun: string }) {
  const [cell, setCell] = useState<[number, number] | null>(null);
  return (
    <>
      <ConfusionMatrix evaluation={evaluation} onCell={run.hasModel ? (a, p) => setCell([a, p]) : undefined} selected={cell} />
      {run.hasModel && !cell && <div className="lf-muted lf-confusion-hint">Click a cell to see its test {noun}.</div>}
      {cell && <ConfusionSamplesPanel key={`${run.id}:${cell[0]}:${cell[1]}`} runId={run.id} actual={cell[0]} predicted={cell[1]} evaluation={evaluation} noun={noun} onClose={() => setCell(null)} />}
    </>
  );
}

export function Gallery({ predictions, runId }: { predictions: Predictions; runId?: string }) {
  const wrong = predictions.items.filter((i) => i.label !== i.predicted).length;
  return (
    <div>
      <div className="lf-muted" style={{ marginBottom: 6 }}>
        {wrong} of {predictions.items.length} shown are misclassified (shown first).
      </div>
      <div className="lf-gallery" data-testid="predictions">
        {predictions.items.map((p) => {
          const ok = p.label === p.predicted;
          return (
            <figure key={p.index} className={`lf-pred ${ok ? 'ok' : 'bad'}`} data-testid="prediction-item" data-correct={ok}>
              <img src={p.image} alt={`test image ${p.index}`} width={64} height={64} />
              <figcaption>
                <span className="lf-pred-p">{predictions.classNames[p.predicted]}</span>
                <span className="lf-pred-c">{pct(p.confidence)}</span>
                {!ok && <span className="lf-pred-t">true: {predictions.classNames[p.label]}</span>}
                {runId && (
                  <button className="lf-link lf-pred-why" onClick={() => insight.openExplain({ runId, sample: p.index, method: 'gradcam' })} title="Why this prediction? Grad-CAM and saliency for this image" data-testid="prediction-why">
                    Why?
                  </button>
                )}
              </figcaption>
            </figure>
          );
        })}
      </div>
    </div>
  );
}

/** What a result view is drawn from. */
interface ViewContext {
  run: RunDetail;
  evaluation: Evaluation;
  predictions: Predictions | undefined;
  /** The target's name (table column), or "value". */
  target: string;
  dataset: DatasetInfo | undefined;
  /** What a test sample is called: images, rows, texts, windows. */
  noun: string;
}

interface ViewDef {
  title: (c: ViewContext) => string;
  /** Whether there is anything to show (image runs have no rows, table runs no gallery). */
  available: (c: ViewContext) => boolean;
  render: (c: ViewContext) => ReactNode;
  /** Takes the whole width of the results grid. */
  wide?: boolean;
  /**
   * A view drawn from the run's history rather than its evaluation: shown while the run trains and after,
   * in its own dashboard section above the test results (LiveViews), not among them.
   */
  live?: { title: string; render: (c: LiveContext) => ReactNode };
}

/** What a live view is drawn from: the run as it trains (no evaluation yet). */
interface LiveContext {
  run: RunDetail;
  dataset: DatasetInfo | undefined;
  /** The run is still starting, running or paused. */
  live: boolean;
}

/**
 * Every result view a task may list (TaskDef.views), by id: the task says which and in what order, this
 * says how each is drawn. Adding a view to ResultView fails to compile until it has an entry here (null:
 * not drawn by the dashboard yet).
 */
const VIEWS: Record<ResultView, ViewDef | null> = {
  confusion: {
    title: (c) => `Confusion matrix · ${c.evaluation.count.toLocaleString()} test ${c.noun}`,
    available: (c) => c.evaluation.confusion.length > 0,
    render: (c) => <ConfusionView run={c.run} evaluation={c.evaluation} noun={c.noun} />,
  },
  'per-class': {
    title: () => 'Per class: precision, recall, F1',
    available: (c) => c.evaluation.perClass.length > 0,
    render: (c) => (c.evaluation.confusion.length > 0 ? <ClassMetricsTable evaluation={c.evaluation} noun={c.noun} /> : <PerClass evaluation={c.evaluation} unit={c.noun} />),
  },
  gallery: {
    title: (c) => `Predictions · ${c.predictions?.items.length ?? 0} of ${c.evaluation.count.toLocaleString()} test ${c.noun}`,
    available: (c) => (c.predictions?.items.length ?? 0) > 0,
    render: (c) => <Gallery predictions={c.predictions!} runId={c.run.hasModel ? c.run.id : undefined} />,
    wide: true,
  },
  'misclassified-rows': {
    title: () => 'Misclassified test rows (most confident first)',
    available: (c) => !!c.evaluation.rows,
    render: (c) => <ResultRowsTable rows={c.evaluation.rows!} figure="confidence" testId="misclassified-rows" />,
    wide: true,
  },
  'misclassified-texts': {
    title: () => 'Misclassified test texts (most confident first)',
    available: (c) => !!c.evaluation.texts,
    render: (c) => <MisclassifiedTexts texts={c.evaluation.texts!} count={c.evaluation.count} />,
    wide: true,
  },
  scatter: {
    title: (c) => `Predicted vs true ${c.target}`,
    available: (c) => (c.evaluation.points?.length ?? 0) > 0,
    render: (c) => <ScatterPlot points={c.evaluation.points!} target={c.target} />,
  },
  residuals: {
    title: () => 'Residuals (predicted − true)',
    available: (c) => (c.evaluation.points?.length ?? 0) > 0,
    render: (c) => <ResidualHistogram points={c.evaluation.points!} target={c.target} />,
  },
  'worst-rows': {
    title: () => 'Worst predictions (largest errors first)',
    available: (c) => !!c.evaluation.rows,
    render: (c) => <ResultRowsTable rows={c.evaluation.rows!} figure="error" testId="worst-rows" />,
    wide: true,
  },
  // Language modelling (shared/tasks/languageModelling.ts): what the model writes after each epoch (live) and
  // Generate; perplexity against a blind guess.
  samples: {
    title: () => 'What it writes',
    available: () => false,
    render: () => null,
    live: { title: 'What it writes', render: (c) => <WritingView run={c.run} vocabSize={c.dataset?.vocabSize} live={c.live} /> },
  },
  perplexity: {
    title: () => 'Perplexity',
    available: (c) => c.evaluation.metrics?.perplexity !== undefined || c.run.epochPoints.some((p) => p.valMetrics?.perplexity !== undefined),
    render: (c) => <PerplexityView run={c.run} evaluation={c.evaluation} vocabSize={c.dataset?.vocabSize} />,
    wide: true,
  },
};

const LIVE_STATUS = new Set(['starting', 'running', 'paused']);

/** The task's live views of a run (e.g. what a language model writes), each in its own dashboard section; nothing when the task has none. */
export function LiveViews({ run, dataset }: { run: RunDetail; dataset: DatasetInfo | undefined }) {
  const task = taskOf(run);
  const ctx: LiveContext = { run, dataset, live: LIVE_STATUS.has(run.status) };
  return (
    <>
      {task.views.flatMap((id) => {
        const live = VIEWS[id]?.live;
        if (!live) return [];
        return [
          <section key={id} className="lf-dash-section" data-testid={`view-${id}`}>
            <h3>{live.title}</h3>
            {live.render(ctx)}
          </section>,
        ];
      })}
    </>
  );
}

/** The test figures: the task's headline large, its other metrics beside it, and what they were measured on. */
function TestMetrics({ task, evaluation, unit }: { task: TaskDef; evaluation: Evaluation; unit: string }) {
  const head = headlineMetric(task);
  return (
    <div className="lf-test-metrics" data-testid="test-metrics" data-task={task.id}>
      {task.metrics.map((m) => (
        <div key={m.id} className={m === head ? 'lf-test-metric head' : 'lf-test-metric'}>
          <div className={m === head ? 'lf-big-number' : 'lf-mid-number'} data-testid={`test-${m.id}`}>
            {formatMetric(m, testMetric(evaluation, evaluation.metrics, m))}
          </div>
          <div className="lf-muted">test {m.label}</div>
        </div>
      ))}
      <div className="lf-muted lf-test-count">
        on {evaluation.count.toLocaleString()} test {unit} · loss {evaluation.loss.toFixed(3)}
      </div>
    </div>
  );
}

/** A run's results on its test split, as its task lists them (task.views; live views are drawn by LiveViews), and Predict for table and text-classification runs. */
export function RunResults({ run, predictions, dataset }: { run: RunDetail; predictions: Predictions | undefined; dataset: DatasetInfo | undefined }) {
  const evaluation = run.evaluation;
  if (!evaluation) return null;
  const task = taskOf(evaluation.task ? evaluation : run);
  const noun = evaluation.rows ? 'rows' : evaluation.texts ? 'texts' : sampleNoun(dataset);
  const table = noun === 'rows';
  const text = task.id === 'classification' && (noun === 'texts' || !!evaluation.texts);
  const ctx: ViewContext = { run, evaluation, predictions, target: evaluation.rows?.target ?? run.target ?? dataset?.target ?? 'value', dataset, noun };
  const views = task.views.flatMap((v) => {
    const view = VIEWS[v];
    return view && !view.live && view.available(ctx) ? [{ id: v, view }] : [];
  });
  return (
    <>
      <TestMetrics task={task} evaluation={evaluation} unit={noun} />
      <div className="lf-result-views">
        {views.map(({ id, view }) => (
          <div key={id} className={`lf-result-view${view.wide ? ' wide' : ''}`} data-testid={`view-${id}`}>
            <h4>{view.title(ctx)}</h4>
            {view.render(ctx)}
          </div>
        ))}
      </div>
      {table && run.hasModel && <PredictPanel run={run} dataset={dataset} />}
      {text && run.hasModel && <PredictTextPanel key={run.id} run={run} />}
    </>
  );
}
