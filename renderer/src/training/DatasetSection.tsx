/**
 * The training panel's dataset section: choose a dataset (a project that says `fitToDataset` has its
 * sizes fitted to it at once, as one undoable edit), download or import one (image data from a folder or
 * archive, a table from a CSV file), see its samples, and fit the model to it by hand.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { DatasetInfo } from '../../../shared/api';
import { dispatch } from '../actions';
import { fitDoc } from '../actions/fitToDataset';
import { graphStore, useGraph } from '../store/graphStore';
import { Bar } from './ProgressBar';
import { training, useTraining, type DiskImportOptions } from './runsStore';
import { TableImportDialog } from './TableImportDialog';
import { taskOf } from './taskMetrics';

/** One line about a dataset: "10 features · regression of 'progression'", "32×32×3 · 10 classes", "windows of 64 tokens · 93 char tokens · language modelling". */
export function describeDataset(ds: DatasetInfo): string {
  const task = taskOf(ds);
  if (ds.kind === 'corpus' || ds.kind === 'text') {
    const vocab = ds.vocabSize ? ` · ${ds.vocabSize.toLocaleString()} ${ds.tokenizer ? `${ds.tokenizer} ` : ''}tokens` : '';
    const classes = ds.classNames.length ? ` · ${ds.classNames.length} classes` : '';
    return `${ds.kind === 'corpus' ? 'windows of ' : ''}${ds.inputShape[0] ?? 0} tokens${vocab}${classes} · ${task.label.toLowerCase()}`;
  }
  const input = ds.kind === 'table' ? `${ds.inputShape[0] ?? 0} features` : ds.inputShape.join('×');
  const classes = ds.classNames.length ? ` · ${ds.classNames.length} classes` : '';
  const target = ds.target ? ` · ${task.label.toLowerCase()} of '${ds.target}'` : '';
  return `${input}${target}${classes}`;
}

/** What one sample of a dataset is called in figures ("on 88 test rows", "rows/s", "on 31 test windows"). */
export function sampleNoun(ds: DatasetInfo | undefined): 'rows' | 'images' | 'windows' | 'texts' {
  switch (ds?.kind) {
    case 'table':
      return 'rows';
    case 'corpus':
      return 'windows';
    case 'text':
      return 'texts';
    default:
      return 'images';
  }
}

/** Picks a dataset for the project; a project that follows its dataset's sizes is fitted to it. */
function choose(info: DatasetInfo | undefined, id: string | null): void {
  graphStore.getState().setMeta({ dataset: id });
  if (info && graphStore.getState().meta.fitToDataset) dispatch('fitToDataset', info);
}

/** Whether the model fits the dataset's sizes, what "Fit model to dataset" would change, or what the last fit changed. */
function FitStatus({ ds }: { ds: DatasetInfo }) {
  const nodes = useGraph((s) => s.doc.nodes);
  const edges = useGraph((s) => s.doc.edges);
  const lastFit = useTraining((s) => s.lastFit);
  const pending = useMemo(() => (nodes.length ? fitDoc({ nodes, edges, positions: {} }, ds).changes : []), [nodes, edges, ds]);
  if (lastFit && lastFit.datasetId === ds.id && lastFit.nodes === nodes) {
    return (
      <div className="lf-fit done" data-testid="fit-changes" role="status">
        <div>
          Fitted the model to {lastFit.datasetName}:
          <ul>
            {lastFit.changes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
        </div>
        <button className="lf-btn lf-btn-ghost" onClick={() => dispatch('undo')} data-testid="fit-undo" title="Undo the fit (Ctrl+Z)">
          Undo
        </button>
      </div>
    );
  }
  if (!pending.length) return null;
  return (
    <div className="lf-fit" data-testid="fit-needed">
      <div>
        The model’s sizes do not match {ds.name}. Fitting it would set:
        <ul>
          {pending.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
      </div>
      <button className="lf-btn" onClick={() => dispatch('fitToDataset', ds)} data-testid="fit-dataset">
        Fit model to dataset
      </button>
    </div>
  );
}

/** Tokens per window offered for a corpus (the model's context; shorter trains faster). */
const DEFAULT_SEQ_LEN = 64;

/**
 * "Import from disk…": image data (a CIFAR-10 or MNIST folder/archive, a folder of class sub-folders; the
 * format is detected) or a text corpus for language modelling (text files or fortune files, with its
 * tokenizer and window length).
 */
function DiskImport() {
  const busy = useTraining((s) => s.busy);
  const [path, setPath] = useState('');
  const [kind, setKind] = useState<'' | 'corpus'>('');
  const [tokenizer, setTokenizer] = useState<'char' | 'word' | 'bpe'>('char');
  const [seqLen, setSeqLen] = useState(String(DEFAULT_SEQ_LEN));
  const [splitOnPercent, setSplitOnPercent] = useState(false);
  const [name, setName] = useState('');
  const details = useRef<HTMLDetailsElement>(null);
  const t = Number(seqLen);
  const badSeqLen = kind === 'corpus' && (!Number.isInteger(t) || t < 2 || t > 4096) ? 'a whole number from 2 to 4,096' : null;
  const options = (): DiskImportOptions =>
    kind === 'corpus' ? { as: 'corpus', tokenizer, seqLen: t, ...(splitOnPercent ? { splitOnPercent } : {}), ...(name.trim() ? { name: name.trim() } : {}) } : {};
  return (
    <details className="lf-import" ref={details}>
      <summary data-testid="import-open">Import from disk…</summary>
      <label className="lf-field">
        <span className="lf-field-label">What it holds</span>
        <select className="lf-input" value={kind} onChange={(e) => setKind(e.target.value as '' | 'corpus')} data-testid="import-kind">
          <option value="">Images (CIFAR-10, MNIST, a folder of class folders)</option>
          <option value="corpus">Text corpus (language modelling)</option>
        </select>
      </label>
      <div className="lf-field">
        <span className="lf-field-label">
          {kind === 'corpus'
            ? 'Path on the engine’s machine (a text file, or a folder of .txt files)'
            : 'Path on the engine’s machine (CIFAR-10 binary folder/archive, MNIST IDX files, or a folder of class sub-folders)'}
        </span>
        <input className="lf-input" value={path} onChange={(e) => setPath(e.target.value)} placeholder={kind === 'corpus' ? '/data/books/alice.txt' : '/data/cifar-10-batches-bin'} spellCheck={false} data-testid="import-path" />
      </div>
      {kind === 'corpus' && (
        <div className="lf-import-text" data-testid="import-corpus-options">
          <label className="lf-field">
            <span className="lf-field-label">Tokenizer</span>
            <select className="lf-input" value={tokenizer} onChange={(e) => setTokenizer(e.target.value as 'char' | 'word' | 'bpe')} data-testid="import-tokenizer">
              <option value="char">characters</option>
              <option value="word">words</option>
              <option value="bpe">byte-pair (BPE)</option>
            </select>
          </label>
          <label className="lf-field">
            <span className="lf-field-label" title="Tokens the model reads at once (its context); shorter trains faster">
              Tokens per window
            </span>
            <input className="lf-input" inputMode="numeric" value={seqLen} onChange={(e) => setSeqLen(e.target.value)} data-testid="import-seq-len" />
            {badSeqLen && <span className="lf-field-error">{badSeqLen}</span>}
          </label>
          <label className="lf-field">
            <span className="lf-field-label">Name (optional)</span>
            <input className="lf-input" value={name} onChange={(e) => setName(e.target.value)} placeholder="from the file name" data-testid="import-name" />
          </label>
          <label className="lf-field lf-field-row" title="Fortune files: entries end at lines holding a single %; those lines are left out">
            <span className="lf-field-label">Fortune file (entries end at % lines)</span>
            <input type="checkbox" className="lf-toggle" checked={splitOnPercent} onChange={(e) => setSplitOnPercent(e.target.checked)} data-testid="import-split-percent" />
          </label>
        </div>
      )}
      <button
        className="lf-btn"
        disabled={!path.trim() || busy || badSeqLen !== null}
        data-testid="import-button"
        onClick={async () => {
          const info = await training.importFrom(path.trim(), options());
          if (!info) return;
          choose(info, info.id);
          // Done: the form folds away, so the dataset, its fit and Train are in view.
          if (details.current) details.current.open = false;
        }}
      >
        {busy ? 'Importing…' : 'Import'}
      </button>
    </details>
  );
}

function Samples({ ds }: { ds: DatasetInfo }) {
  const preview = useTraining((s) => s.previews[ds.id]);
  useEffect(() => {
    if (!preview) void training.preview(ds.id);
  }, [ds.id, preview]);
  if (!preview) return null;
  return (
    <div className="lf-preview" data-testid="dataset-preview">
      {preview.samples.map((c) => (
        <div key={c.label} className="lf-preview-row">
          <span className="lf-preview-name" title={`${preview.trainCounts[c.label]} train / ${preview.testCounts[c.label]} test`}>
            {c.className}
          </span>
          {c.images.map((src, i) => (
            <img key={i} src={src} alt={`${c.className} sample`} width={32} height={32} />
          ))}
        </div>
      ))}
    </div>
  );
}

export function DatasetSection({ datasetId }: { datasetId: string | null }) {
  const datasets = useTraining((s) => s.datasets);
  const progress = useTraining((s) => (datasetId ? s.datasetProgress[datasetId] : undefined));
  const [showPreview, setShowPreview] = useState(false);
  const [tableOpen, setTableOpen] = useState(false);
  const ds = datasets.find((d) => d.id === datasetId);
  const images = !ds?.kind || ds.kind === 'image';

  const fraction = progress ? (progress.total ? (progress.bytes ?? 0) / progress.total : progress.count ? (progress.done ?? 0) / progress.count : 0) : 0;
  return (
    <section className="lf-train-section">
      <div className="lf-section-title">Dataset</div>
      <select
        className="lf-input"
        data-testid="dataset-select"
        aria-label="Dataset"
        value={datasetId ?? ''}
        onChange={(e) => {
          choose(
            datasets.find((d) => d.id === e.target.value),
            e.target.value || null,
          );
          setShowPreview(false);
        }}
      >
        <option value="">Choose a dataset…</option>
        {datasets.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name} — {d.status === 'ready' ? `ready (${d.trainSize.toLocaleString()} train / ${d.testSize.toLocaleString()} test)` : d.status}
          </option>
        ))}
      </select>
      {ds && (
        <div className="lf-dataset-status" data-testid="dataset-status" data-status={ds.status} data-task={taskOf(ds).id}>
          <span className={`lf-status ${ds.status}`}>{ds.status}</span>
          <span className="lf-muted" data-testid="dataset-describe">
            {describeDataset(ds)}
          </span>
          {ds.status === 'ready' && images && (
            <button className="lf-btn lf-btn-ghost" onClick={() => setShowPreview((v) => !v)} data-testid="dataset-preview-toggle">
              {showPreview ? 'Hide samples' : 'Show samples'}
            </button>
          )}
        </div>
      )}
      {ds && <FitStatus ds={ds} />}
      {ds?.message && ds.status !== 'ready' && <div className="lf-field-error">{ds.message}</div>}
      {ds && ds.status !== 'ready' && ds.downloadable && !progress && (
        <button className="lf-btn" onClick={() => void training.prepare(ds.id)} data-testid="dataset-download">
          Download {ds.name}
        </button>
      )}
      {progress && ds && (
        <div data-testid="dataset-progress">
          <Bar value={fraction} label={progress.phase} testId="dataset-progress-bar" />
          <button className="lf-btn lf-btn-ghost" onClick={() => void training.cancelPrepare(ds.id)}>
            Cancel
          </button>
        </div>
      )}
      {showPreview && ds?.status === 'ready' && images && <Samples ds={ds} />}
      <div className="lf-import-row">
        <DiskImport />
        <button className="lf-btn lf-btn-ghost lf-import-table" onClick={() => setTableOpen(true)} data-testid="table-import-open" title="Import a CSV file: predict one of its columns from the others">
          Import a table (CSV)…
        </button>
      </div>
      {tableOpen && (
        <TableImportDialog
          onClose={() => setTableOpen(false)}
          onImported={(info) => {
            setTableOpen(false);
            choose(info, info.id);
          }}
        />
      )}
    </section>
  );
}
