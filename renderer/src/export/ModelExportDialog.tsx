/**
 * Export a trained model: pick a finished run (from the engine's run list), a format, and a path on
 * the engine's machine; the engine writes the files and we show where, or why it could not.
 */
import { useEffect, useMemo, useState } from 'react';
import type { EngineInfo, ExportFormat, ExportResult, RunSummary } from '../../../shared/api';
import { connectionState, getEngine } from '../api/client';
import { errorText, explainError, exportRun } from './flows';
import { exportableRuns, formatInfo, MODEL_FORMATS, resolveOutPath, suggestedOutPath, validateExportForm, type ExportFormErrors } from './formats';
import { Modal } from './Modal';
import { browserDownloads } from './download';
import { DownloadButton } from './DownloadButton';
import { closeExportDialog } from './store';
import { runHeadline } from '../training/taskMetrics';

type Load = { state: 'loading' } | { state: 'failed'; error: string } | { state: 'ready'; runs: RunSummary[]; info: EngineInfo };

/** The last part of a path on the engine's machine ('/' or '\\' separated). */
const baseName = (path: string) => path.split(/[\\/]/).filter(Boolean).pop() ?? path;

/** Serve mode: the export's files are on the engine's machine; this brings them here (one file, or a zip). */
function ExportDownload({ result }: { result: ExportResult }) {
  if (!browserDownloads() || !result.exportId) return null;
  const one = result.files.length === 1 && result.files[0] === result.path;
  // As the engine names it: a folder's name, or a file's without its extension when companions sit beside it.
  const inFolder = result.files.every((f) => f !== result.path && f.startsWith(result.path));
  const name = one ? baseName(result.path) : `${inFolder ? baseName(result.path) : baseName(result.path).replace(/\.[^.]+$/, '')}.zip`;
  return (
    <div className="lf-export-download">
      <DownloadButton req={{ kind: 'export', exportId: result.exportId }} label={`Download ${name}`} title={`Download ${name} to this computer`} testId="export-download" className="lf-btn lf-btn-primary" />
      <span className="lf-muted">The engine wrote {one ? 'it' : 'these files'} on its own machine; this saves {one ? 'a copy' : 'them as one zip'} on this computer.</span>
    </div>
  );
}

function runLabel(r: RunSummary): string {
  // The task's headline on the test split (accuracy, R²), else the accuracy seen while training.
  const head = runHeadline(r).text;
  const acc = r.bestValAccuracy ?? r.lastAccuracy;
  const figure = head ? `, test ${head}` : acc === undefined ? '' : `, ${(acc * 100).toFixed(1)}% acc`;
  const when = r.endedAt ?? r.createdAt;
  const date = Number.isNaN(Date.parse(when)) ? '' : ` · ${new Date(when).toLocaleString()}`;
  return `${r.name} — ${r.status}, ${r.epochsDone}/${r.epochs} epochs${figure}${date}`;
}

export function ModelExportDialog() {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [runId, setRunId] = useState<string | null>(null);
  const [format, setFormat] = useState<ExportFormat>('tfjs');
  const [outPath, setOutPath] = useState('');
  const [pathEdited, setPathEdited] = useState(false);
  const [errors, setErrors] = useState<ExportFormErrors>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ExportResult | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const conn = connectionState();
    if (conn.s === 'closed') {
      setLoad({ state: 'failed', error: `No connection to the engine: ${conn.why ?? 'closed'}` });
      return;
    }
    const engine = getEngine();
    Promise.all([engine.listRuns(), engine.getInfo()]).then(
      ([runs, info]) => {
        if (!live) return;
        setLoad({ state: 'ready', runs, info });
        setRunId((id) => id ?? exportableRuns(runs)[0]?.id ?? null);
      },
      (e: unknown) => live && setLoad({ state: 'failed', error: errorText(e) }),
    );
    return () => {
      live = false;
    };
  }, []);

  const runs = load.state === 'ready' ? load.runs : [];
  const choices = useMemo(() => exportableRuns(runs), [runs]);
  const run = choices.find((r) => r.id === runId) ?? null;

  // The suggested path follows the run and format until the user types their own.
  useEffect(() => {
    if (pathEdited || load.state !== 'ready' || !run) return;
    setOutPath(suggestedOutPath(load.info.dataDir, run, format));
  }, [pathEdited, load, run, format]);

  const info = formatInfo(format);
  const resolved = outPath.trim() ? resolveOutPath(format, outPath) : '';

  const submit = async () => {
    const found = validateExportForm({ runId, outPath }, runs);
    setErrors(found);
    if (found.run || found.outPath || !runId) return;
    setBusy(true);
    setResult(null);
    setFailure(null);
    try {
      setResult(await exportRun(getEngine(), { runId, format, outPath }));
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const explained = failure ? explainError(failure) : null;

  return (
    <Modal title="Export trained model" testid="model-export-dialog" wide>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        {load.state === 'loading' && <p className="lf-muted" data-testid="export-loading">Asking the engine for its runs…</p>}
        {load.state === 'failed' && (
          <p className="lf-export-alert" role="alert" data-testid="export-load-error">
            Could not list the training runs: {load.error}
          </p>
        )}
        {load.state === 'ready' && (
          <>
            <label className="lf-field">
              <span className="lf-field-label">Training run</span>
              {choices.length > 0 ? (
                <select
                  className={`lf-input${errors.run ? ' invalid' : ''}`}
                  value={runId ?? ''}
                  onChange={(e) => {
                    setRunId(e.target.value || null);
                    setResult(null);
                  }}
                  data-testid="export-run"
                >
                  {choices.map((r) => (
                    <option key={r.id} value={r.id}>
                      {runLabel(r)}
                    </option>
                  ))}
                </select>
              ) : (
                <span className="lf-export-empty" data-testid="export-no-runs">
                  No finished training run with a saved model yet{runs.length > 0 ? ` (${runs.length} run${runs.length === 1 ? '' : 's'} still running or failed)` : ''}. Train the model in
                  the Train tab, then export it here.
                </span>
              )}
              {errors.run && (
                <span className="lf-field-error" data-testid="export-error-run">
                  {errors.run}
                </span>
              )}
            </label>

            <fieldset className="lf-export-formats">
              <legend className="lf-field-label">Format</legend>
              {MODEL_FORMATS.map((f) => (
                <label key={f.id} className={`lf-export-format${format === f.id ? ' on' : ''}`}>
                  <input
                    type="radio"
                    name="model-format"
                    value={f.id}
                    checked={format === f.id}
                    onChange={() => {
                      setFormat(f.id);
                      setResult(null);
                    }}
                    data-testid={`export-format-${f.id}`}
                  />
                  <span>
                    <strong>{f.label}</strong>
                    <span className="lf-export-line">{f.line}</span>
                  </span>
                </label>
              ))}
            </fieldset>

            <label className="lf-field">
              <span className="lf-field-label">{info.output === 'file' ? `Output file (or folder) on the engine’s machine` : `Output folder on the engine’s machine`}</span>
              <input
                className={`lf-input mono${errors.outPath ? ' invalid' : ''}`}
                value={outPath}
                spellCheck={false}
                onChange={(e) => {
                  setOutPath(e.target.value);
                  setPathEdited(true);
                  if (errors.outPath) setErrors((x) => ({ ...x, outPath: undefined }));
                }}
                data-testid="export-path"
              />
              {errors.outPath ? (
                <span className="lf-field-error" data-testid="export-error-path">
                  {errors.outPath}
                </span>
              ) : (
                resolved !== outPath.trim() && resolved && <span className="lf-field-hint">writes {resolved}</span>
              )}
            </label>
          </>
        )}

        {result && (
          <div className="lf-export-result" role="status" data-testid="export-result">
            <div>
              Written to <code data-testid="export-result-path">{result.path}</code>
            </div>
            <ul className="lf-export-files">
              {result.files.map((f) => (
                <li key={f} className="mono">
                  {f}
                </li>
              ))}
            </ul>
            {result.notes.map((n) => (
              <p key={n} className="lf-muted">
                {n}
              </p>
            ))}
            <ExportDownload result={result} />
          </div>
        )}
        {explained && (
          <div className="lf-export-alert" role="alert" data-testid="export-error">
            <strong>Export failed:</strong> {explained.headline}
            {explained.items.length > 0 && (
              <ul>
                {explained.items.map((i) => (
                  <li key={i}>{i}</li>
                ))}
              </ul>
            )}
          </div>
        )}

        <div className="lf-row-buttons lf-right">
          <button type="button" className="lf-btn" onClick={closeExportDialog} data-testid="export-cancel">
            {result ? 'Close' : 'Cancel'}
          </button>
          <button type="submit" className="lf-btn lf-btn-primary" disabled={busy || load.state !== 'ready'} data-testid="export-confirm">
            {busy ? 'Exporting…' : `Export ${info.label}`}
          </button>
        </div>
      </form>
    </Modal>
  );
}
