/**
 * The dashboard's "Training health" section (issue #19): per layer, the weights' and gradients' histograms over
 * the epochs (a heatmap: rows are epochs, columns are value bins on one common range), the gradient norm per
 * layer over the epochs, the share of dead ReLU units, and the warnings in plain words (each can be shown on the
 * canvas, where the node carries a badge).
 */
import { useEffect, useMemo, useState } from 'react';
import type { RunDetail } from '../../../shared/api';
import type { LayerHealth, TrainingHealth } from '../../../shared/api/insight';
import type { Series } from '../training/chartData';
import { MetricChart } from '../training/lazyCharts';
import { HeatCanvas } from './HeatCanvas';
import { insight, insightApi } from './insightStore';
import { ACTIVE_STATUS, classColor, commonGrid, epochLayerRows, formatValue, latestEpoch, percent } from './insightView';
import './insight.css';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function HealthPanel({ run }: { run: RunDetail }) {
  const [health, setHealth] = useState<TrainingHealth | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [layerId, setLayerId] = useState<string | null>(null);
  const canAsk = run.hasModel || ACTIVE_STATUS.has(run.status);
  // Read again after each epoch (and once the run ends).
  const freshness = `${run.id}:${run.epochsDone}:${run.status}`;

  useEffect(() => {
    if (!canAsk) return;
    let alive = true;
    setBusy(true);
    insightApi()
      .trainingHealth({ runId: run.id })
      .then((h) => {
        if (!alive) return;
        setHealth(h);
        setError(null);
      })
      .catch((e: unknown) => alive && setError(message(e)))
      .finally(() => alive && setBusy(false));
    return () => {
      alive = false;
    };
  }, [freshness, canAsk, run.id]);

  const layers = health?.runId === run.id ? health.layers : [];
  const layer = layers.find((l) => l.nodeId === layerId) ?? layers[0];
  const series: Series[] = useMemo(() => layers.map((l, i) => ({ key: `l${i}`, name: l.layerName, color: classColor(i) })), [layers]);
  const normRows = useMemo(() => epochLayerRows(layers, (e) => e.gradNorm), [layers]);
  const deadLayers = useMemo(() => layers.map((l, i) => ({ l, i })).filter(({ l }) => l.epochs.some((e) => e.deadFraction !== undefined)), [layers]);
  const zeroGrad = useMemo(() => layers.filter((l) => latestEpoch(l.epochs)?.gradNorm === 0).map((l) => l.layerName), [layers]);
  const deadRows = useMemo(() => epochLayerRows(layers, (e) => (e.deadFraction === undefined ? undefined : e.deadFraction * 100)), [layers]);
  const deadSeries = useMemo(() => deadLayers.map(({ i }) => series[i]!), [deadLayers, series]);

  return (
    <section className="lf-dash-section" data-testid="health-panel">
      <h3>
        Training health {busy && <span className="lf-muted lf-ins-busy">reading…</span>}
      </h3>
      {!canAsk ? (
        <div className="lf-muted">This run kept no model: nothing to look at.</div>
      ) : error ? (
        <div className="lf-train-error" role="alert" data-testid="health-error">
          {error}
        </div>
      ) : !health ? (
        <div className="lf-muted">Reading the layers’ weights and gradients…</div>
      ) : layers.length === 0 || layers.every((l) => l.epochs.length === 0) ? (
        <div className="lf-muted" data-testid="health-empty">
          {ACTIVE_STATUS.has(run.status) ? 'The first figures come at the end of the first epoch.' : 'No health figures were recorded for this run (they are taken at the end of each epoch).'}
        </div>
      ) : (
        <>
          <Warnings health={health} />
          <p className="lf-muted lf-ins-note">Taken at the end of each epoch: the weights, and their gradients on one training batch.</p>
          <div className="lf-ins-health-grid">
            <LayerTable layers={layers} selected={layer?.nodeId ?? null} onSelect={setLayerId} />
            <div className="lf-ins-health-charts">
              <MetricChart testId="health-grad-norm" title="Gradient norm per layer (log scale)" rows={normRows} xKey="epoch" xLabel="epoch" series={series} yScale="log" height={170} />
              {zeroGrad.length > 0 && (
                <div className="lf-muted lf-ins-note" data-testid="health-zero-grad">
                  {zeroGrad.join(', ')}: gradient norm 0 in the latest epoch (no line on a log scale): {zeroGrad.length === 1 ? 'it does' : 'they do'} not learn.
                </div>
              )}
              {deadLayers.length > 0 && <MetricChart testId="health-dead" title="Dead ReLU units per layer (%)" rows={deadRows} xKey="epoch" xLabel="epoch" series={deadSeries} yDomain={[0, 100]} height={150} />}
            </div>
          </div>
          {layer && <LayerHistograms key={layer.nodeId} layer={layer} />}
        </>
      )}
    </section>
  );
}

function Warnings({ health }: { health: TrainingHealth }) {
  if (health.warnings.length === 0) {
    return (
      <div className="lf-ins-ok" data-testid="health-warnings" data-count={0}>
        ✓ No warnings: gradients neither vanish nor explode, and no layer is mostly dead.
      </div>
    );
  }
  return (
    <ul className="lf-ins-warnlist" data-testid="health-warnings" data-count={health.warnings.length}>
      {health.warnings.map((w, i) => (
        <li key={i} className="lf-ins-warning" data-kind={w.kind}>
          <span>⚠ {w.message}</span>
          <button className="lf-link" onClick={() => insight.openActivations(health.runId, 0, w.nodeId)} title="Close the dashboard and select this layer on the canvas">
            Show on the canvas
          </button>
        </li>
      ))}
    </ul>
  );
}

function LayerTable({ layers, selected, onSelect }: { layers: readonly LayerHealth[]; selected: string | null; onSelect: (id: string) => void }) {
  return (
    <div className="lf-ins-table-wrap">
      <table className="lf-ins-table" data-testid="health-layers">
        <thead>
          <tr>
            <th>layer</th>
            <th title="L2 norm of all the layer's weights">weights ‖w‖</th>
            <th title="L2 norm of the gradients of its weights on one batch">gradient ‖g‖</th>
            <th title="ReLU layers: units that output 0 for every sample of a batch">dead units</th>
          </tr>
        </thead>
        <tbody>
          {layers.map((l, i) => {
            const e = latestEpoch(l.epochs);
            return (
              <tr key={l.nodeId} className={l.nodeId === selected ? 'on' : undefined} onClick={() => onSelect(l.nodeId)} data-testid="health-layer" data-node-id={l.nodeId}>
                <td>
                  <span className="lf-ins-swatch" style={{ background: classColor(i) }} />
                  <button className="lf-link" title={`${l.type}: show its histograms`}>
                    {l.layerName}
                  </button>
                </td>
                <td>{e ? formatValue(e.weightNorm) : '–'}</td>
                <td>{e?.gradNorm !== undefined ? formatValue(e.gradNorm) : '–'}</td>
                <td>{e?.deadFraction !== undefined ? percent(e.deadFraction) : '–'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function LayerHistograms({ layer }: { layer: LayerHealth }) {
  const epochs = useMemo(() => [...layer.epochs].sort((a, b) => a.epoch - b.epoch), [layer.epochs]);
  return (
    <div className="lf-ins-hists" data-testid="health-histograms" data-layer={layer.layerName}>
      <h4>
        {layer.layerName} <span className="lf-muted">({layer.type})</span>: distribution per epoch (rows: epochs, top first; columns: values)
      </h4>
      <div className="lf-ins-hist-pair">
        <HistogramGrid title="weights" epochs={epochs.map((e) => e.epoch)} hists={epochs.map((e) => e.weights)} testId="health-hist-weights" />
        <HistogramGrid title="gradients" epochs={epochs.map((e) => e.epoch)} hists={epochs.map((e) => e.gradients)} testId="health-hist-gradients" />
      </div>
    </div>
  );
}

function HistogramGrid({ title, epochs, hists, testId }: { title: string; epochs: number[]; hists: Parameters<typeof commonGrid>[0]; testId: string }) {
  const grid = useMemo(() => commonGrid(hists, 30), [hists]);
  const rows = useMemo(() => grid.rows.map((r) => r ?? new Array<number>(30).fill(NaN)), [grid]);
  const peak = Math.max(1e-9, ...rows.flat().filter(Number.isFinite));
  if (grid.rows.every((r) => r === null)) {
    return (
      <figure className="lf-ins-hist" data-testid={testId}>
        <figcaption>{title}</figcaption>
        <div className="lf-muted">None recorded.</div>
      </figure>
    );
  }
  const w = 10;
  const h = Math.max(3, Math.min(16, Math.floor(200 / Math.max(1, rows.length))));
  const binW = (grid.max - grid.min) / 30;
  return (
    <figure className="lf-ins-hist" data-testid={testId}>
      <figcaption>
        {title}{' '}
        <span className="lf-muted">
          · epoch {epochs[0]}
          {epochs.length > 1 ? `–${epochs[epochs.length - 1]}, top to bottom` : ''}
        </span>
      </figcaption>
      <HeatCanvas
        values={rows}
        cell={{ w, h }}
        scale={{ kind: 'sequential', lo: 0, hi: peak }}
        label={`${title} histograms over ${epochs.length} epochs`}
        legend={{ low: '0%', high: `${percent(peak)} of the ${title}` }}
        rowLabels={epochs.map((e) => `epoch ${e}`)}
        labelWidth={54}
        describe={(r, c, v) => `epoch ${epochs[r]}: ${percent(v)} of the ${title} between ${formatValue(grid.min + c * binW)} and ${formatValue(grid.min + (c + 1) * binW)}`}
        footer={
          <div className="lf-ins-hist-axis" style={{ width: 30 * w }}>
            <span>{formatValue(grid.min)}</span>
            {grid.min < 0 && grid.max > 0 && (
              <span style={{ left: `${(-grid.min / (grid.max - grid.min)) * 100}%` }} className="lf-ins-hist-zero">
                0
              </span>
            )}
            <span>{formatValue(grid.max)}</span>
          </div>
        }
      />
    </figure>
  );
}
