/** Import model: a Keras / TensorFlow.js model.json on the engine's machine, opened as a new document. */
import { useState } from 'react';
import { appContext } from '../actions';
import { guardUnsaved } from '../actions/projects';
import { connectionState, getEngine } from '../api/client';
import { errorText, explainError, fetchImport, openImported } from './flows';
import { validateImportPath } from './formats';
import { Modal } from './Modal';
import { closeExportDialog } from './store';

export function ImportModelDialog() {
  const [path, setPath] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  const submit = async () => {
    const problem = validateImportPath(path);
    setInvalid(problem);
    if (problem) return;
    const conn = connectionState();
    if (conn.s === 'closed') {
      setFailure(`no connection to the engine: ${conn.why ?? 'closed'}`);
      return;
    }
    setBusy(true);
    setFailure(null);
    try {
      const project = await fetchImport(getEngine(), path);
      closeExportDialog();
      guardUnsaved(appContext, 'open the imported model', () => void openImported(appContext, project, path.trim()));
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const explained = failure ? explainError(failure) : null;

  return (
    <Modal title="Import model" testid="import-model-dialog">
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label className="lf-field">
          <span className="lf-field-label">model.json on the engine’s machine</span>
          <input
            className={`lf-input mono${invalid ? ' invalid' : ''}`}
            value={path}
            autoFocus
            spellCheck={false}
            placeholder="/home/me/models/my-model/model.json"
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
        <p className="lf-muted">
          A TensorFlow.js or Keras <code>model.json</code> (Sequential or Functional), or a folder Layerforge exported. It opens as a new project, laid out
          automatically. Layers Layerforge does not support are named, not dropped.
        </p>
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
        <div className="lf-row-buttons lf-right">
          <button type="button" className="lf-btn" onClick={closeExportDialog}>
            Cancel
          </button>
          <button type="submit" className="lf-btn lf-btn-primary" disabled={busy} data-testid="import-model-confirm">
            {busy ? 'Importing…' : 'Import'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
