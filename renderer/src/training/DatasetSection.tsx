/**
 * The training panel's dataset section: choose a dataset (a project that says `fitToDataset` has its
 * sizes fitted to it at once, as one undoable edit), download or import one (image data from a folder or
 * archive, a table from a CSV file), see its samples, and fit the model to it by hand.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { DatasetInfo, DatasetPreview } from '../../../shared/api';
import { dispatch } from '../actions';
import { fitDoc } from '../actions/fitToDataset';
import { graphStore, useGraph } from '../store/graphStore';
import { useUi } from '../store/uiStore';
import { visibleText } from './LanguageViews';
import { Bar } from './ProgressBar';
import type { TokenizerKind } from '../../../shared/text/types';
import { defaultVocabulary, diskImportRequest, emptyDiskForm, validateDiskForm, withKind, type DiskImportForm, type DiskImportKind } from './diskImport';
import { training, useTraining } from './runsStore';
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

/**
 * "Import from disk…": image data (a CIFAR-10 or MNIST folder/archive, a folder of class sub-folders; the
 * format is detected), labelled text for classification (class folders of .txt files, a CSV with a text and a
 * label column, or fortune files: one class per file) or a text corpus for language modelling (text files or
 * fortune files), with the tokenizer, its vocabulary and the tokens per text or window. An import that fails
 * says why under the form, with everything typed kept.
 */
function DiskImport() {
  const busy = useTraining((s) => s.busy);
  const [form, setForm] = useState<DiskImportForm>(() => emptyDiskForm());
  const [failure, setFailure] = useState<string | null>(null);
  const details = useRef<HTMLDetailsElement>(null);
  // File > Import Dataset… (the importDataset action) opens this form.
  const importRequest = useUi((s) => s.datasetImportRequest);
  useEffect(() => {
    if (!importRequest || !details.current) return;
    details.current.open = true;
    details.current.scrollIntoView?.({ block: 'nearest' });
  }, [importRequest]);
  const errors = validateDiskForm(form);
  const set = (patch: Partial<DiskImportForm>) => setForm((f) => ({ ...f, ...patch }));
  const text = form.kind !== 'images';
  const labelled = form.kind === 'text';
  const showPathError = errors.path && form.path.trim() !== '';
  const pathHint =
    form.kind === 'corpus'
      ? 'Path on the engine’s machine (a text file, or a folder of .txt files)'
      : labelled
        ? 'Path on the engine’s machine (a folder of class folders of .txt files, a CSV file, or fortune files)'
        : 'Path on the engine’s machine (CIFAR-10 binary folder/archive, MNIST IDX files, or a folder of class sub-folders)';
  const go = async () => {
    setFailure(null);
    try {
      const info = await training.importFrom(diskImportRequest(form));
      choose(info, info.id);
      // Done: the form folds away, so the dataset, its fit and Train are in view.
      if (details.current) details.current.open = false;
    } catch (e) {
      setFailure(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <details className="lf-import" ref={details}>
      <summary data-testid="import-open">Import from disk…</summary>
      <form
        className="lf-import-form"
        data-testid="import-form"
        data-kind={form.kind}
        onSubmit={(e) => {
          e.preventDefault();
          void go();
        }}
      >
        <label className="lf-field">
          <span className="lf-field-label">What it holds</span>
          <select className="lf-input" value={form.kind} onChange={(e) => setForm((f) => withKind(f, e.target.value as DiskImportKind))} data-testid="import-kind">
            <option value="images">Images (CIFAR-10, MNIST, a folder of class folders)</option>
            <option value="text">Labelled text (classification)</option>
            <option value="corpus">Text corpus (language modelling)</option>
          </select>
        </label>
        <label className="lf-field">
          <span className="lf-field-label">{pathHint}</span>
          <input
            className="lf-input"
            value={form.path}
            onChange={(e) => set({ path: e.target.value })}
            placeholder={form.kind === 'corpus' ? '/data/books/alice.txt' : labelled ? '/data/reviews' : '/data/cifar-10-batches-bin'}
            spellCheck={false}
            aria-invalid={showPathError ? true : undefined}
            data-testid="import-path"
          />
          {showPathError && <span className="lf-field-error" data-testid="import-path-error">{errors.path}</span>}
        </label>
        {text && (
          <div className="lf-import-text" data-testid={labelled ? 'import-text-options' : 'import-corpus-options'}>
            <div className="lf-import-grid">
              <label className="lf-field">
                <span className="lf-field-label">Tokenizer</span>
                <select className="lf-input" value={form.tokenizer} onChange={(e) => set({ tokenizer: e.target.value as TokenizerKind })} data-testid="import-tokenizer">
                  <option value="word">words</option>
                  <option value="char">characters</option>
                  <option value="bpe">byte-pair (BPE)</option>
                </select>
              </label>
              <label className="lf-field">
                <span className="lf-field-label" title="The most token ids the tokenizer keeps (the most frequent ones; padding and unknown included)">
                  Vocabulary
                </span>
                <input
                  className="lf-input"
                  inputMode="numeric"
                  value={form.vocabSize}
                  onChange={(e) => set({ vocabSize: e.target.value })}
                  placeholder={defaultVocabulary(form.tokenizer)}
                  aria-invalid={errors.vocabSize ? true : undefined}
                  data-testid="import-vocab-size"
                />
              </label>
              <label className="lf-field">
                <span
                  className="lf-field-label"
                  title={labelled ? 'Tokens the model reads of each text (T): longer texts are cut, shorter ones padded' : 'Tokens the model reads at once (its context); shorter trains faster'}
                >
                  {labelled ? 'Tokens per text (T)' : 'Tokens per window'}
                </span>
                <input
                  className="lf-input"
                  inputMode="numeric"
                  value={form.seqLen}
                  onChange={(e) => set({ seqLen: e.target.value })}
                  aria-invalid={errors.seqLen ? true : undefined}
                  data-testid="import-seq-len"
                />
              </label>
              <label className="lf-field">
                <span className="lf-field-label">Name (optional)</span>
                <input className="lf-input" value={form.name} onChange={(e) => set({ name: e.target.value })} placeholder="from the file name" data-testid="import-name" />
              </label>
            </div>
            {(errors.vocabSize || errors.seqLen) && (
              <div className="lf-field-error" data-testid="import-number-error">
                {errors.vocabSize ? `Vocabulary: ${errors.vocabSize}. ` : ''}
                {errors.seqLen ? `${labelled ? 'Tokens per text' : 'Tokens per window'}: ${errors.seqLen}.` : ''}
              </div>
            )}
            {labelled && (
              <div className="lf-import-grid" data-testid="import-csv-columns">
                <label className="lf-field">
                  <span className="lf-field-label" title="CSV files: the column holding the text">
                    CSV text column
                  </span>
                  <input className="lf-input" value={form.textColumn} onChange={(e) => set({ textColumn: e.target.value })} placeholder="text" spellCheck={false} data-testid="import-text-column" />
                </label>
                <label className="lf-field">
                  <span className="lf-field-label" title="CSV files: the column holding each text's class">
                    CSV label column
                  </span>
                  <input className="lf-input" value={form.labelColumn} onChange={(e) => set({ labelColumn: e.target.value })} placeholder="label" spellCheck={false} data-testid="import-label-column" />
                </label>
              </div>
            )}
            {form.tokenizer === 'word' && (
              <label className="lf-field lf-field-row">
                <span className="lf-field-label">Lower-case the words first</span>
                <input type="checkbox" className="lf-toggle" checked={form.lowercase} onChange={(e) => set({ lowercase: e.target.checked })} data-testid="import-lowercase" />
              </label>
            )}
            <label
              className="lf-field lf-field-row"
              title={labelled ? 'Fortune files: each file is a class; its entries, ending at lines holding a single %, are its texts' : 'Fortune files: entries end at lines holding a single %; those lines are left out'}
            >
              <span className="lf-field-label">{labelled ? 'Fortune files (one class per file, entries end at % lines)' : 'Fortune file (entries end at % lines)'}</span>
              <input type="checkbox" className="lf-toggle" checked={form.splitOnPercent} onChange={(e) => set({ splitOnPercent: e.target.checked })} data-testid="import-split-percent" />
            </label>
          </div>
        )}
        <button type="submit" className="lf-btn" disabled={!form.path.trim() || busy || Object.keys(errors).length > 0} data-testid="import-button">
          {busy ? 'Importing…' : 'Import'}
        </button>
        {failure && (
          <div className="lf-train-error lf-import-error" role="alert" data-testid="import-error">
            {failure}
          </div>
        )}
      </form>
    </details>
  );
}

function Samples({ ds }: { ds: DatasetInfo }) {
  const preview = useTraining((s) => s.previews[ds.id]);
  useEffect(() => {
    if (!preview) void training.preview(ds.id);
  }, [ds.id, preview]);
  if (!preview) return null;
  if (preview.texts) return <TextSamples preview={preview} />;
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

/** A token as a chip shows it: line breaks and tabs as arrows, a lone space as ␣, control characters as their symbols. */
export function tokenChip(token: string): string {
  if (token === ' ') return '␣';
  return visibleText(token).replace(/\n/g, '↵').replace(/\t/g, '⇥');
}

/** A text dataset's samples: a few texts per class (a corpus: its first windows) with their label and first tokens. */
function TextSamples({ preview }: { preview: DatasetPreview }) {
  const tok = preview.tokenizer;
  return (
    <div className="lf-preview lf-text-preview" data-testid="dataset-preview" data-kind="text">
      {tok && (
        <div className="lf-muted">
          {tok.kind === 'word' ? 'words' : tok.kind === 'char' ? 'characters' : 'byte-pair (BPE)'} · {tok.vocabSize.toLocaleString()} tokens{tok.lowercase ? ' · lower-cased' : ''} · {tok.seqLen} per {preview.classNames.length ? 'text' : 'window'}
          {preview.classNames.length ? ` · ${preview.classNames.map((c, i) => `${c} ${preview.trainCounts[i] ?? 0}/${preview.testCounts[i] ?? 0}`).join(', ')} (train/test)` : ''}
        </div>
      )}
      <ul className="lf-text-samples">
        {(preview.texts ?? []).map((t, i) => (
          <li key={i} className="lf-text-sample" data-testid="dataset-text-sample" data-class={t.className ?? ''}>
            <div className="lf-text-sample-head">
              {t.className && <b>{t.className}</b>}
              {t.source && <span className="lf-muted lf-text-source">{t.source}</span>}
              <span className="lf-muted">
                {t.length.toLocaleString()} tokens{t.truncated ? ' (cut)' : ''}
              </span>
            </div>
            <p className="lf-text-body lf-text-sample-body">{visibleText(t.text)}</p>
            <div className="lf-tokens" title={t.ids.join(' ')}>
              {t.tokens.map((tk, j) => (
                <span key={j} className="lf-token">
                  {tokenChip(tk)}
                </span>
              ))}
              {t.length > t.tokens.length && <span className="lf-muted">…</span>}
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function DatasetSection({ datasetId }: { datasetId: string | null }) {
  const datasets = useTraining((s) => s.datasets);
  const progress = useTraining((s) => (datasetId ? s.datasetProgress[datasetId] : undefined));
  const [showPreview, setShowPreview] = useState(false);
  const [tableOpen, setTableOpen] = useState(false);
  const ds = datasets.find((d) => d.id === datasetId);
  // Images and texts have samples to show; a table's rows are shown by its import dialog.
  const samples = ds?.kind !== 'table';

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
          {ds.status === 'ready' && samples && (
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
      {showPreview && ds?.status === 'ready' && samples && <Samples ds={ds} />}
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
