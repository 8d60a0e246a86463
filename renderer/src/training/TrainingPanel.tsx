import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { BACKENDS, OPTIMIZERS, SCHEDULES, defaultTrainingSettings, trainingSettingsSchema, type TrainingSettings } from '../../../shared/project';
import type { RunSummary } from '../../../shared/api';
import { parse } from '../../../shared/schema';
import { LOSSES, type TaskDef } from '../../../shared/tasks';
import { graphFromDoc } from '../store/document';
import { graphStore, useGraph } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { formatDuration } from './chartData';
import { Dashboard } from './Dashboard';
import { browserDownloads } from '../export/download';
import { DownloadButton } from '../export/DownloadButton';
import { DatasetSection, sampleNoun } from './DatasetSection';
import { Bar } from './ProgressBar';
import { RunCharts } from './RunCharts';
import { sampleLimits, training, trainingStore, useTraining } from './runsStore';
import { formatMetric, runHeadline, taskOf } from './taskMetrics';
import { useAnalysis } from './taskTarget';
import './training.css';

/** The unit of the live speed: img/s for images, rows/s, windows/s, texts/s. */
const speedUnit = (noun: ReturnType<typeof sampleNoun>) => (noun === 'images' ? 'img' : noun);

const ACTIVE = new Set(['starting', 'running', 'paused']);

function selectNode(nodeId: string) {
  graphStore.getState().select([nodeId]);
  uiStore.setState({ rightTab: 'inspect' });
}

type FieldKey = keyof TrainingSettings;

/** The last part of a folder path on the engine's machine ('/data/runs/abc/model' -> 'abc/model'). */
function folderName(path: string): string {
  const parts = path.split(/[\\/]+/).filter(Boolean);
  return parts.slice(-2).join('/') || path;
}

/** Memoised: the panel re-renders on every progress event; the settings form need not. */
const SettingsSection = memo(function SettingsSection({ settings, disabled, task }: { settings: TrainingSettings; disabled: boolean; task: TaskDef }) {
  const backends = useTraining((s) => s.backends);
  const [drafts, setDrafts] = useState<Partial<Record<FieldKey, string>>>({});
  const [errors, setErrors] = useState<Partial<Record<FieldKey, string>>>({});
  const update = (key: FieldKey, value: unknown) => {
    const next = { ...settings, [key]: value };
    const r = parse(trainingSettingsSchema, next);
    if (!r.ok) {
      setErrors((e) => ({ ...e, [key]: r.issues.find((i) => i.path === key)?.message ?? r.issues[0]!.message }));
      return;
    }
    setErrors((e) => ({ ...e, [key]: undefined }));
    graphStore.getState().setMeta({ training: r.value as TrainingSettings });
  };
  const num = (key: FieldKey, label: string, step = 'any') => (
    <label className="lf-field">
      <span className="lf-field-label">{label}</span>
      <input
        className={`lf-input${errors[key] ? ' invalid' : ''}`}
        type="number"
        step={step}
        disabled={disabled}
        data-testid={`setting-${key}`}
        value={drafts[key] ?? String(settings[key])}
        onChange={(e) => {
          setDrafts((d) => ({ ...d, [key]: e.target.value }));
          update(key, e.target.value === '' ? NaN : Number(e.target.value));
        }}
        onBlur={() => setDrafts((d) => ({ ...d, [key]: undefined }))}
      />
      {errors[key] && <span className="lf-field-error">{errors[key]}</span>}
    </label>
  );
  const pick = <T extends string>(key: FieldKey, label: string, options: readonly T[], available?: (o: T) => string | null, note?: (o: T) => string | null) => (
    <label className="lf-field">
      <span className="lf-field-label">{label}</span>
      <select className="lf-input" disabled={disabled} value={String(settings[key])} onChange={(e) => update(key, e.target.value)} data-testid={`setting-${key}`}>
        {options.map((o) => {
          const why = available?.(o) ?? null;
          return (
            <option key={o} value={o} disabled={!!why} title={why ?? note?.(o) ?? undefined}>
              {o}
              {why ? ' (not available)' : note?.(o) ? ` (${note(o)})` : ''}
            </option>
          );
        })}
      </select>
    </label>
  );
  const check = (key: FieldKey, label: string) => (
    <label className="lf-field lf-field-row">
      <span className="lf-field-label">{label}</span>
      <input type="checkbox" className="lf-toggle" disabled={disabled} checked={Boolean(settings[key])} onChange={(e) => update(key, e.target.checked)} data-testid={`setting-${key}`} />
    </label>
  );
  return (
    <details className="lf-train-section lf-settings" open>
      <summary className="lf-section-title">Settings</summary>
      {settings.initialWeights && (
        <div className="lf-start-from" data-testid="initial-weights" title={settings.initialWeights}>
          <span>
            Start from: <b>imported weights</b> <span className="mono">({folderName(settings.initialWeights)})</span>
          </span>
          <button type="button" className="lf-btn lf-btn-ghost" disabled={disabled} onClick={() => update('initialWeights', null)} data-testid="initial-weights-clear">
            Train from scratch
          </button>
        </div>
      )}
      <div className="lf-grid2">
        {num('epochs', 'Epochs', '1')}
        {num('batchSize', 'Batch size', '1')}
        {pick('optimizer', 'Optimizer', OPTIMIZERS)}
        {num('learningRate', 'Learning rate')}
        {pick('schedule', 'LR schedule', SCHEDULES)}
        {num('validationSplit', 'Validation split')}
        {num('earlyStoppingPatience', 'Early stop patience', '1')}
        {num('seed', 'Seed', '1')}
        {pick('loss', 'Loss', LOSSES, (o) => (o === 'auto' || (task.losses as readonly string[]).includes(o) ? null : `not for ${task.label.toLowerCase()}`))}
      </div>
      {check('augmentFlip', 'Augment: random horizontal flip')}
      {check('augmentCrop', 'Augment: random crop (pad 4)')}
      {pick(
        'backend',
        'Backend',
        BACKENDS,
        (o) => {
          if (o === 'auto') return null;
          const b = backends.find((x) => x.name === o);
          return b && !b.available ? (b.reason ?? 'not available') : null;
        },
        // webgpu names its adapter, and says when it is a software one (never taken by auto).
        (o) => {
          const b = backends.find((x) => x.name === o);
          if (!b?.available || !b.adapter) return null;
          const device = b.adapter.match(/\(([^:)]+)/)?.[1] ?? b.adapter; // "llvmpipe", "NVIDIA GeForce RTX 3080"
          return b.software ? `software GPU: ${device}` : device;
        },
      )}
      {/* pytorch trains as a process under torchrun: how many on this machine (gloo on CPU, one per GPU with CUDA). */}
      {settings.backend === 'pytorch' && <div className="lf-grid2">{num('procs', 'Processes (torchrun)', '1')}</div>}
      {(() => {
        const b = backends.find((x) => x.name === settings.backend);
        return b?.reason ? (
          <div className="lf-muted" data-testid="backend-report">
            {b.reason}
          </div>
        ) : null;
      })()}
    </details>
  );
});

/** A finished run's test figure: its task's headline metric (accuracy, R²). */
function TestFigure({ run }: { run: RunSummary }) {
  const h = runHeadline(run);
  if (h.value === undefined) return null;
  return (
    <div>
      Test {h.metric.label} <b data-testid={`panel-test-${h.metric.id}`}>{formatMetric(h.metric, h.value)}</b>
    </div>
  );
}

/** The training panel (right side): dataset, settings, validation, controls, live progress and runs. */
export function TrainingPanel() {
  const meta = useGraph((s) => s.meta);
  // Nodes and edges only: moving nodes on the canvas does not re-render the panel.
  const nodes = useGraph((s) => s.doc.nodes);
  const edges = useGraph((s) => s.doc.edges);
  const connection = useTraining((s) => s.connection);
  const connectionWhy = useTraining((s) => s.connectionWhy);
  const runs = useTraining((s) => s.runs);
  const live = useTraining((s) => s.live);
  const details = useTraining((s) => s.details);
  const error = useTraining((s) => s.error);
  const problems = useTraining((s) => s.problems);
  const compare = useTraining((s) => s.compare);
  // Serve mode: runs live on the engine's machine, so each can be downloaded (the desktop app has them on disk).
  const downloads = browserDownloads();
  const busy = useTraining((s) => s.busy);
  const dashboardOpen = useTraining((s) => s.dashboardOpen);
  const datasets = useTraining((s) => s.datasets);
  const maxImages = useTraining((s) => s.maxImages);
  const setMaxImages = (v: string) => trainingStore.setState({ maxImages: v });
  const liveRef = useRef<HTMLElement>(null);

  useEffect(() => {
    void training.init();
  }, []);

  const settings = useMemo(() => ({ ...defaultTrainingSettings(), ...meta.training }), [meta.training]);
  const analysis = useAnalysis({ nodes, edges });
  const graphErrors = analysis.problems.filter((p) => p.severity === 'error');
  const active = runs.find((r) => ACTIVE.has(r.status));
  const current = active ?? runs[0];
  const p = current ? live[current.id] : undefined;
  const detail = current ? details[current.id] : undefined;
  const ds = datasets.find((d) => d.id === meta.dataset);
  const task = taskOf(ds);
  const outputMisfit = graphErrors.length > 0 && graphErrors.every((e) => e.code === 'task');
  const shownProblems = graphErrors.length ? graphErrors : problems;

  const canTrain = !active && !busy && graphErrors.length === 0 && ds?.status === 'ready' && connection !== 'closed';
  const why = active ? 'A run is in progress' : graphErrors.length ? (outputMisfit ? `The model’s output does not fit ${ds?.name ?? 'the dataset'}` : 'Fix the model first') : !ds ? 'Choose a dataset' : ds.status !== 'ready' ? 'The dataset is not ready' : connection === 'closed' ? 'Not connected to the engine' : '';

  const start = async () => {
    await training.start({
      graph: graphFromDoc(graphStore.getState().doc),
      datasetId: ds!.id,
      settings,
      name: `${meta.name || 'Model'} · run ${runs.length + 1}`,
      ...sampleLimits(maxImages),
    });
    liveRef.current?.scrollIntoView({ block: 'start', behavior: 'smooth' });
  };

  const epochFraction = p && p.batchesPerEpoch ? p.batch / p.batchesPerEpoch : 0;
  const overall = p && p.totalSteps ? p.step / p.totalSteps : 0;

  return (
    <div className="lf-train" data-testid="training-panel">
      {connection === 'closed' && (
        <div className="lf-train-error" role="alert" data-testid="connection-error">
          Not connected to the engine: {connectionWhy ?? 'the connection closed'}. Reload the page to reconnect.
        </div>
      )}
      <DatasetSection datasetId={meta.dataset} />
      <section className="lf-train-section">
        {shownProblems.length > 0 && (
          <div className="lf-problems" data-testid="train-problems">
            <div className="lf-field-error">The model has {shownProblems.length} problem{shownProblems.length === 1 ? '' : 's'}: training needs a valid model.</div>
            <ul>
              {shownProblems.slice(0, 8).map((pr, i) => (
                <li key={i}>
                  {pr.nodeId ? (
                    <button className="lf-link" onClick={() => selectNode(pr.nodeId!)} title="Show this node">
                      {pr.message}
                    </button>
                  ) : (
                    pr.message
                  )}
                </li>
              ))}
            </ul>
          </div>
        )}
        <div className="lf-row-buttons lf-train-buttons">
          <button className="lf-btn lf-btn-primary" disabled={!canTrain} onClick={() => void start()} title={why} data-testid="train-start">
            {busy ? 'Starting…' : 'Train'}
          </button>
          {active?.status === 'paused' ? (
            <button className="lf-btn" onClick={() => void training.control('resume', active.id)} data-testid="train-resume">
              Resume
            </button>
          ) : (
            <button className="lf-btn" disabled={active?.status !== 'running'} onClick={() => active && void training.control('pause', active.id)} data-testid="train-pause">
              Pause
            </button>
          )}
          <button className="lf-btn lf-btn-danger" disabled={!active} onClick={() => active && void training.control('stop', active.id)} data-testid="train-stop">
            Stop
          </button>
          <button className="lf-btn lf-btn-ghost" disabled={!runs.length} onClick={() => current && void training.view(current.id)} data-testid="open-dashboard">
            Dashboard
          </button>
        </div>
        {!canTrain && why && !active && <div className="lf-muted">{why}.</div>}
        {error && (
          <div className="lf-train-error" role="alert" data-testid="train-error">
            {error}
            <button className="lf-btn lf-btn-ghost" onClick={() => training.dismissError()} aria-label="Dismiss">
              ×
            </button>
          </div>
        )}
      </section>
      {current && (
        <section className="lf-train-section" data-testid="live" data-status={current.status} ref={liveRef}>
          <div className="lf-section-title">
            {current.name} <span className={`lf-status ${current.status}`}>{current.status}</span>
          </div>
          <Bar value={current.status === 'completed' ? 1 : epochFraction} label={`Epoch ${p?.epoch ?? current.epochsDone}/${p?.epochs ?? current.epochs}`} testId="progress-epoch" />
          <Bar value={current.status === 'completed' ? 1 : overall} label="Overall" testId="progress-overall" />
          <div className="lf-stats">
            <span>
              <b data-testid="stat-speed">{p ? p.imagesPerSecond.toFixed(0) : '–'}</b> {speedUnit(sampleNoun(datasets.find((d) => d.id === current.datasetId)))}/s
            </span>
            <span>
              elapsed <b>{p ? formatDuration(p.elapsedMs) : current.endedAt ? formatDuration(Date.parse(current.endedAt) - Date.parse(current.createdAt)) : '–'}</b>
            </span>
            <span>
              ETA <b>{p && ACTIVE.has(current.status) ? formatDuration(p.etaMs) : '–'}</b>
            </span>
            <span>
              backend <b data-testid="stat-backend">{p?.backend || current.backend || (ACTIVE.has(current.status) ? '…' : '–')}</b>
            </span>
          </div>
          <TestFigure run={current} />
          {current.error && <div className="lf-train-error">{current.error}</div>}
          {/* Not drawn under the open dashboard (which shows the same curves): no chart work nobody sees. */}
          {detail && !dashboardOpen && (detail.batches.length > 0 || ACTIVE.has(current.status)) && <RunCharts run={detail} compact />}
        </section>
      )}
      <SettingsSection settings={settings} disabled={!!active} task={task} />
      <label className="lf-field">
        <span className="lf-field-label">Use at most N training samples (empty = all)</span>
        <input className="lf-input" type="number" min={1} value={maxImages} onChange={(e) => setMaxImages(e.target.value)} data-testid="setting-maxImages" disabled={!!active} />
      </label>
      <section className="lf-train-section">
        <div className="lf-section-title">Runs ({runs.length})</div>
        {runs.length === 0 && <div className="lf-muted">No runs yet.</div>}
        <ul className="lf-runs" data-testid="runs">
          {runs.map((r) => (
            <li key={r.id} className={`lf-run${downloads ? ' lf-run-dl' : ''}`} data-testid="run-row" data-status={r.status}>
              <input type="checkbox" className="lf-toggle" checked={compare.includes(r.id)} onChange={() => training.toggleCompare(r.id)} aria-label={`Compare ${r.name}`} data-testid="run-compare" />
              <button className="lf-link lf-run-name" onClick={() => void training.view(r.id)} title="Show results" data-testid="run-open">
                {r.name}
              </button>
              <span className={`lf-status ${r.status}`}>{r.status}</span>
              <span className="lf-muted lf-run-acc" data-testid="run-headline" title={runHeadline(r).metric.label}>
                {runHeadline(r).text}
              </span>
              {downloads && (
                <DownloadButton
                  req={{ kind: 'run', runId: r.id }}
                  label="⤓"
                  title={ACTIVE.has(r.status) ? `Download ${r.name} (when it ends)` : `Download ${r.name} (its folder as a zip: run.json and the trained model)`}
                  testId="run-download"
                  className="lf-btn lf-btn-ghost"
                  disabled={ACTIVE.has(r.status)}
                />
              )}
              <button className="lf-btn lf-btn-ghost" disabled={ACTIVE.has(r.status)} onClick={() => void training.remove(r.id)} aria-label={`Delete ${r.name}`} title="Delete run">
                🗑
              </button>
            </li>
          ))}
        </ul>
        {compare.length >= 2 && (
          <button
            className="lf-btn"
            data-testid="compare-open"
            onClick={() => {
              trainingStore.setState({ dashboardOpen: true });
              compare.forEach((id) => void training.loadRun(id));
            }}
          >
            Compare {compare.length} runs
          </button>
        )}
      </section>
      <Dashboard />
    </div>
  );
}
