/**
 * Import model: a model file or folder on the engine's machine (TensorFlow.js model.json, Keras to_json()
 * .json, .h5, .keras, ONNX, a Layerforge folder). The engine says which format it found; the dialog shows
 * it with the parameter count, the warnings, whether the weights came along, and the input sizes the
 * file left open (editable: the user confirms them, re-importing with those sizes) before opening it.
 */
import { useState } from 'react';
import type { ImportedModel } from '../../../shared/api/importModel';
import { appContext } from '../actions';
import { guardUnsaved } from '../actions/projects';
import { connectionState, getEngine } from '../api/client';
import { training, useTraining } from '../training/runsStore';
import { errorText, explainError, fetchImport, importedProject, importSummary, openImported } from './flows';
import { IMPORT_KINDS, parseDims, validateImportPath } from './formats';
import { Modal } from './Modal';
import { closeExportDialog } from './store';
import { formatCount } from '../canvas/flowModel';

function dimFields(imported: ImportedModel): Record<string, string> {
  return Object.fromEntries(imported.assumed.map((d) => [d.key, String(d.value)]));
}

export function ImportModelDialog() {
  const [path, setPath] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [result, setResult] = useState<{ path: string; imported: ImportedModel } | null>(null);
  const [dims, setDims] = useState<Record<string, string>>({});
  const [dimError, setDimError] = useState<{ key: string; error: string } | null>(null);
  const [datasetId, setDatasetId] = useState('');
  const readyDatasets = useTraining((s) => s.datasets).filter((d) => d.status === 'ready');

  const load = async (target: string, sizes?: Record<string, number>) => {
    const conn = connectionState();
    if (conn.s === 'closed') {
      setFailure(`no connection to the engine: ${conn.why ?? 'closed'}`);
      return;
    }
    setBusy(true);
    setFailure(null);
    try {
      const imported = await fetchImport(getEngine(), target, sizes, datasetId || undefined);
      // A re-import (other sizes) supersedes the weights run the last one listed.
      if (result?.imported.weights) void training.remove(result.imported.weights.runId);
      setResult({ path: target.trim(), imported });
      setDims(dimFields(imported));
      setDimError(null);
      // The weights are listed as a run: the Train tab shows it.
      if (imported.weights) void training.refreshRuns().catch(() => {});
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const submit = async () => {
    const problem = validateImportPath(path);
    setInvalid(problem);
    if (problem) return;
    await load(path);
  };

  const changedDims = result ? result.imported.assumed.some((d) => dims[d.key] !== String(d.value)) : false;
  const labels = result ? Object.fromEntries(result.imported.assumed.map((d) => [d.key, `${d.input} ${d.label}`])) : {};

  const reimport = async () => {
    if (!result) return;
    const parsed = parseDims(dims, labels);
    if ('error' in parsed) {
      setDimError(parsed);
      return;
    }
    setDimError(null);
    await load(result.path, parsed.dims);
  };

  const open = () => {
    if (!result) return;
    const { imported, path: source } = result;
    closeExportDialog();
    guardUnsaved(appContext, 'open the imported model', () => void openImported(appContext, importedProject(imported), source, importSummary(imported)));
  };

  const explained = failure ? explainError(failure) : null;
  const imported = result?.imported;
  /** Cancel after the review: nothing stays imported (the weights run the review listed goes). */
  const cancel = () => {
    if (result?.imported.weights) void training.remove(result.imported.weights.runId);
    closeExportDialog();
  };

  return (
    <Modal title="Import model" testid="import-model-dialog" wide={!!imported}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (imported && path.trim() === result?.path) {
            if (changedDims) void reimport();
            else open();
          } else void submit();
        }}
      >
        <label className="lf-field">
          <span className="lf-field-label">Model file or folder on the engine’s machine</span>
          <input
            className={`lf-input mono${invalid ? ' invalid' : ''}`}
            value={path}
            autoFocus
            spellCheck={false}
            placeholder="/home/me/models/mobilenet/model.json"
            onChange={(e) => {
              setPath(e.target.value);
              setInvalid(null);
            }}
            data-testid="import-model-path"
          />
          {invalid && (
            <span className="lf-field-error" data-testid="import-model-invalid">
              {invalid}
            </span>
          )}
        </label>
        {!imported && readyDatasets.length > 0 && (
          <label className="lf-field">
            <span className="lf-field-label">Evaluate the imported weights on</span>
            <select className="lf-input" value={datasetId} onChange={(e) => setDatasetId(e.target.value)} data-testid="import-model-dataset">
              <option value="">no dataset yet (choose one later in the Train tab)</option>
              {readyDatasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.inputShape.join('×')}, {d.classNames.length ? `${d.classNames.length} classes` : (d.task ?? 'classification')})
                </option>
              ))}
            </select>
          </label>
        )}
        {!imported && (
          <div className="lf-muted lf-import-kinds">
            Reads{' '}
            {IMPORT_KINDS.map((k, i) => (
              <span key={k.ext}>
                {i > 0 && (i === IMPORT_KINDS.length - 1 ? ' or ' : ', ')}
                <code>{k.ext}</code> ({k.what})
              </span>
            ))}
            . It opens as a new project, laid out automatically; a nested model becomes a group you can collapse. Layers Layerforge cannot import are
            named, not dropped.
          </div>
        )}
        {explained && (
          <div className="lf-export-alert" role="alert" data-testid="import-model-error">
            <strong>Import failed:</strong> {explained.headline}
            {explained.items.length > 0 && (
              <ul>
                {explained.items.map((i) => (
                  <li key={i}>{i}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        {imported && result && path.trim() === result.path && (
          <div className="lf-import-review" data-testid="import-model-review">
            <dl className="lf-kv">
              <dt>Format</dt>
              <dd data-testid="import-model-format" data-format={imported.format}>
                {imported.formatLabel}
              </dd>
              <dt>Model</dt>
              <dd>
                {imported.project.name} · {imported.project.graph.nodes.length} layers
                {imported.project.graph.groups?.length ? ` · ${imported.project.graph.groups.length} nested model${imported.project.graph.groups.length === 1 ? '' : 's'} (groups)` : ''}
              </dd>
              <dt>Parameters</dt>
              <dd data-testid="import-model-params">{formatCount(imported.params)}</dd>
              <dt>Weights</dt>
              <dd data-testid="import-model-weights">
                {imported.weights ? (
                  <>
                    Came along: listed as a run in the Train tab{imported.project.dataset ? `, evaluated on ${readyDatasets.find((d) => d.id === imported.project.dataset)?.name ?? imported.project.dataset}` : ''}; the project starts training from them (<span className="mono">{imported.weights.modelDir}</span>).
                  </>
                ) : (
                  'None in this file: the model starts from fresh weights.'
                )}
              </dd>
            </dl>
            {imported.assumed.length > 0 && (
              <fieldset className="lf-import-dims" data-testid="import-model-dims">
                <legend>The file leaves these input sizes open: confirm or change them</legend>
                {imported.assumed.map((d) => (
                  <label key={d.key} className="lf-field lf-field-row">
                    <span className="lf-field-label">
                      {d.input} · {d.label}
                      <span className="lf-field-hint">{d.chosen ? 'chosen' : 'default'}</span>
                    </span>
                    <input
                      className={`lf-input mono${dimError?.key === d.key ? ' invalid' : ''}`}
                      inputMode="numeric"
                      value={dims[d.key] ?? ''}
                      onChange={(e) => setDims((x) => ({ ...x, [d.key]: e.target.value }))}
                      data-testid={`import-dim-${d.key}`}
                    />
                  </label>
                ))}
                {dimError && (
                  <span className="lf-field-error" data-testid="import-model-dim-error">
                    {dimError.error}
                  </span>
                )}
              </fieldset>
            )}
            {imported.warnings.length > 0 && (
              <div className="lf-import-warnings" data-testid="import-model-warnings">
                <strong>
                  {imported.warnings.length} warning{imported.warnings.length === 1 ? '' : 's'}
                </strong>
                <ul>
                  {imported.warnings.map((w, i) => (
                    <li key={i}>{w}</li>
                  ))}
                </ul>
              </div>
            )}
          </div>
        )}
        <div className="lf-row-buttons lf-right">
          <button type="button" className="lf-btn" onClick={cancel} data-testid="import-model-cancel">
            Cancel
          </button>
          {imported && path.trim() === result?.path ? (
            <>
              {imported.assumed.length > 0 && (
                <button type="button" className="lf-btn" disabled={busy || !changedDims} onClick={() => void reimport()} data-testid="import-model-reimport">
                  {busy ? 'Importing…' : 'Apply these sizes'}
                </button>
              )}
              <button type="button" className="lf-btn lf-btn-primary" disabled={busy || changedDims} onClick={open} data-testid="import-model-open" title={changedDims ? 'Apply the sizes first' : undefined}>
                Open
              </button>
            </>
          ) : (
            <button type="submit" className="lf-btn lf-btn-primary" disabled={busy} data-testid="import-model-confirm">
              {busy ? 'Importing…' : 'Import'}
            </button>
          )}
        </div>
      </form>
    </Modal>
  );
}
