import { useEffect } from 'react';
import type { RunDetail } from '../../../shared/api';
import { formatDuration } from './chartData';
import { AttentionPanel } from './AttentionPanel';
import { EmbeddingsPanel } from '../insight/EmbeddingsPanel';
import { HealthPanel } from '../insight/HealthPanel';
import { LiveViews, RunResults } from './Results';
import { taskOf } from './taskMetrics';
import { CompareCharts, RunCharts } from './RunCharts';
import { training, useTraining } from './runsStore';
import { browserDownloads } from '../export/download';
import { DownloadButton } from '../export/DownloadButton';

const ENDED = new Set(['completed', 'stopped', 'failed']);

function RunHeader({ run }: { run: RunDetail }) {
  const s = run.settings;
  return (
    <div className="lf-run-head">
      <h3>
        {run.name} <span className={`lf-status ${run.status}`}>{run.status}</span>
        {browserDownloads() && ENDED.has(run.status) && (
          <DownloadButton
            req={{ kind: 'run', runId: run.id }}
            label="Download run (.zip)"
            title={`Download ${run.name}: run.json (settings, metrics) and ${run.hasModel ? 'the trained model folder' : 'what it kept'}, as one zip`}
            testId="dashboard-download"
            className="lf-btn lf-run-download"
          />
        )}
      </h3>
      <div className="lf-muted">
        {run.datasetId}
        {run.target ? ` · ${taskOf(run).label.toLowerCase()} of '${run.target}'` : ''} · {s.epochs} epochs · batch {s.batchSize} · {s.optimizer} lr {s.learningRate} ({s.schedule}) · backend {run.backend ?? '…'} · started {new Date(run.createdAt).toLocaleString()}
        {run.endedAt ? ` · took ${formatDuration(Date.parse(run.endedAt) - Date.parse(run.createdAt))}` : ''}
      </div>
      {run.error && (
        <div className="lf-train-error" role="alert">
          {run.error}
        </div>
      )}
    </div>
  );
}

/** The full-window training dashboard: the viewed run's charts and results, and the runs compared. */
export function Dashboard() {
  const open = useTraining((s) => s.dashboardOpen);
  const viewRunId = useTraining((s) => s.viewRunId);
  const run = useTraining((s) => (s.viewRunId ? s.details[s.viewRunId] : undefined));
  const compareIds = useTraining((s) => s.compare);
  const details = useTraining((s) => s.details);
  const predictions = useTraining((s) => (s.viewRunId ? s.predictions[s.viewRunId] : undefined));
  const runs = useTraining((s) => s.runs);
  const datasets = useTraining((s) => s.datasets);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') training.setDashboard(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open]);

  if (!open) return null;
  const compared = compareIds.map((id) => details[id]).filter((d): d is RunDetail => !!d);
  return (
    <div className="lf-dashboard" role="dialog" aria-label="Training dashboard" data-testid="dashboard">
      <header className="lf-dashboard-bar">
        <strong>Training dashboard</strong>
        <select className="lf-input" value={viewRunId ?? ''} onChange={(e) => void training.view(e.target.value)} data-testid="dashboard-run-select" aria-label="Run to show">
          {runs.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name} ({r.status})
            </option>
          ))}
        </select>
        <span style={{ flex: 1 }} />
        <button className="lf-btn" onClick={() => training.setDashboard(false)} data-testid="dashboard-close">
          Close (Esc)
        </button>
      </header>
      <div className="lf-dashboard-body">
        {run ? (
          <>
            <section className="lf-dash-section">
              <RunHeader run={run} />
              <RunCharts run={run} />
            </section>
            <LiveViews run={run} dataset={datasets.find((d) => d.id === run.datasetId)} />
            <section className="lf-dash-section" data-testid="results">
              <h3>Results on the test set</h3>
              {run.evaluation ? (
                <RunResults run={run} predictions={predictions} dataset={datasets.find((d) => d.id === run.datasetId)} />
              ) : (
                <div className="lf-muted">{run.status === 'running' || run.status === 'paused' || run.status === 'starting' ? 'Results appear when the run ends (Stop keeps the weights).' : 'No results: this run has no trained model.'}</div>
              )}
            </section>
            <AttentionPanel key={run.id} run={run} />
            <HealthPanel key={`health-${run.id}`} run={run} />
            <EmbeddingsPanel key={`embed-${run.id}`} run={run} />
          </>
        ) : (
          <div className="lf-muted">Pick a run.</div>
        )}
        <section className="lf-dash-section">
          <h3>Compare runs</h3>
          {compared.length < 2 ? <div className="lf-muted">Tick two or more runs in the run list to overlay their curves.</div> : <CompareCharts runs={compared} />}
        </section>
      </div>
    </div>
  );
}
