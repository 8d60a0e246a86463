/**
 * Import a table (CSV) as a dataset: a path on the engine's machine (serve mode types it; the desktop
 * app can pass one chosen in a native dialog as `initialPath`), a preview of its first rows with each
 * column's inferred type and why, the target column (re-previewed when it changes), the task, the test
 * split, then Import. Every error (unreadable file, no such column, a ragged row and its line) is shown
 * here, in the engine's words, and the form keeps what was typed.
 */
import { useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { DatasetInfo, TablePreview } from '../../../shared/api';
import type { ColumnType } from '../../../shared/tables/types';
import { getTask } from '../../../shared/tasks';
import { Modal } from '../export/Modal';
import { training } from './runsStore';
import { COLUMN_TYPES, TABLE_TASKS, columnBadge, effectiveTask, emptyTableForm, fileStem, tableImportRequest, validatePath, validateTableForm, type TableFormErrors, type TableImportForm } from './tableImport';

const PREVIEW_ROWS = 20;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function TableImportDialog({ initialPath = '', onClose, onImported }: { initialPath?: string; onClose: () => void; onImported: (info: DatasetInfo) => void }) {
  const [form, setForm] = useState<TableImportForm>(() => emptyTableForm(initialPath));
  const [preview, setPreview] = useState<TablePreview | null>(null);
  const [errors, setErrors] = useState<TableFormErrors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState<'preview' | 'import' | null>(null);
  const asked = useRef(0);
  const lastPath = useRef<string | null>(null);
  const set = (patch: Partial<TableImportForm>) => setForm((f) => ({ ...f, ...patch }));
  // The desktop app picks the file in a native dialog (Browse…); serve mode types a path on the engine's machine.
  const [native, setNative] = useState(false);
  useEffect(() => {
    let live = true;
    training.nativeDialogs().then(
      (v) => live && setNative(v),
      () => {},
    );
    return () => {
      live = false;
    };
  }, []);
  const browse = async () => {
    try {
      const path = await training.chooseTableFile();
      if (!path) return;
      set({ path });
      await runPreview(path, '');
    } catch (e) {
      setFailure(message(e));
    }
  };

  const runPreview = async (path: string, target: string) => {
    const pathError = validatePath(path);
    setErrors((e) => ({ ...e, path: pathError ?? undefined }));
    if (pathError) return;
    const ticket = ++asked.current;
    setBusy('preview');
    setFailure(null);
    try {
      const p = await training.previewTable({ path: path.trim(), rows: PREVIEW_ROWS, ...(target ? { target } : {}) });
      if (ticket !== asked.current) return;
      // A new file keeps no column types of the last one.
      const sameFile = lastPath.current === p.path;
      lastPath.current = p.path;
      setPreview(p);
      setForm((f) => ({ ...f, target: p.target, columnTypes: sameFile ? f.columnTypes : {} }));
    } catch (e) {
      if (ticket === asked.current) setFailure(message(e));
    } finally {
      if (ticket === asked.current) setBusy(null);
    }
  };

  // A path handed in (by a native file dialog) is previewed at once.
  const first = useRef(initialPath);
  useEffect(() => {
    if (first.current) void runPreview(first.current, '');
    first.current = '';
  });

  const current = preview && preview.path === form.path.trim() && preview.target === form.target ? preview : null;
  const doImport = async () => {
    const errs = validateTableForm(form);
    setErrors(errs);
    if (Object.keys(errs).length || !current) return;
    setBusy('import');
    setFailure(null);
    try {
      const info = await training.importTable(tableImportRequest(form, current));
      onImported(info);
    } catch (e) {
      setFailure(message(e));
    } finally {
      setBusy(null);
    }
  };

  const dialog = (
    <Modal title="Import a table (CSV)" testid="table-import-dialog" className="lf-table-modal" onClose={onClose}>
      <form
        className="lf-table-import"
        onSubmit={(e) => {
          e.preventDefault();
          if (current) void doImport();
          else void runPreview(form.path, preview?.path === form.path.trim() ? form.target : '');
        }}
      >
        <label className="lf-field">
          <span className="lf-field-label">CSV file on the engine’s machine: a header row, then one sample per row (values separated by commas, semicolons, tabs or |)</span>
          <div className="lf-table-path">
            <input
              className={`lf-input${errors.path ? ' invalid' : ''}`}
              value={form.path}
              placeholder="/home/me/data/houses.csv"
              spellCheck={false}
              autoFocus
              data-testid="table-path"
              onChange={(e) => set({ path: e.target.value })}
            />
            {native && (
              <button type="button" className="lf-btn" disabled={busy !== null} data-testid="table-browse-button" onClick={() => void browse()}>
                Browse…
              </button>
            )}
            <button type="button" className="lf-btn" disabled={busy !== null} data-testid="table-preview-button" onClick={() => void runPreview(form.path, preview?.path === form.path.trim() ? form.target : '')}>
              {busy === 'preview' ? 'Reading…' : 'Preview'}
            </button>
          </div>
          {errors.path && (
            <span className="lf-field-error" data-testid="table-path-error">
              {errors.path}
            </span>
          )}
        </label>
        {failure && (
          <div className="lf-train-error" role="alert" data-testid="table-import-error">
            {failure}
          </div>
        )}
        {preview && <TablePreviewView preview={preview} form={form} stale={!current} setForm={set} rePreview={(target) => void runPreview(form.path, target)} errors={errors} />}
        <div className="lf-row-buttons lf-table-actions">
          <span className="lf-muted">{!preview ? 'Preview the file to choose what to predict.' : !current ? 'The file or target changed: preview again.' : ''}</span>
          <button type="button" className="lf-btn" onClick={onClose} data-testid="table-import-cancel">
            Cancel
          </button>
          <button type="submit" className="lf-btn lf-btn-primary" disabled={!current || busy !== null} data-testid="table-import-confirm">
            {busy === 'import' ? 'Importing…' : 'Import'}
          </button>
        </div>
      </form>
    </Modal>
  );
  return createPortal(dialog, document.body);
}

function TablePreviewView(props: {
  preview: TablePreview;
  form: TableImportForm;
  stale: boolean;
  errors: TableFormErrors;
  setForm: (patch: Partial<TableImportForm>) => void;
  rePreview: (target: string) => void;
}) {
  const { preview, form, stale, errors, setForm, rePreview } = props;
  const task = effectiveTask(form, preview);
  const testRows = Math.round(preview.rowCount * (Number(form.testFraction) || 0));
  const delimiter = preview.delimiter === '\t' ? 'tab' : `'${preview.delimiter}'`;
  return (
    <div className={`lf-table-preview${stale ? ' stale' : ''}`} data-testid="table-preview" data-target={preview.target} data-task={task}>
      <div className="lf-muted" data-testid="table-summary">
        {preview.rowCount.toLocaleString()} rows · {preview.header.length} columns · values separated by {delimiter}
        {preview.classes ? ` · ${preview.classes.length} classes: ${preview.classes.slice(0, 8).join(', ')}${preview.classes.length > 8 ? ', …' : ''}` : ''}
      </div>
      <div className="lf-table-options">
        <label className="lf-field">
          <span className="lf-field-label">Predict (target column)</span>
          <select
            className="lf-input"
            value={form.target}
            data-testid="table-target"
            onChange={(e) => {
              const { [e.target.value]: _t, ...columnTypes } = form.columnTypes;
              setForm({ target: e.target.value, columnTypes });
              rePreview(e.target.value);
            }}
          >
            {preview.header.map((h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
          </select>
        </label>
        <label className="lf-field">
          <span className="lf-field-label">Task</span>
          <select className="lf-input" value={form.task} data-testid="table-task" onChange={(e) => setForm({ task: e.target.value as TableImportForm['task'] })}>
            <option value="auto">Automatic: {preview.task}</option>
            {TABLE_TASKS.map(getTask).map((t) => (
              <option key={t.id} value={t.id} title={t.description}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
        <label className="lf-field">
          <span className="lf-field-label">Test fraction</span>
          <input className={`lf-input${errors.testFraction ? ' invalid' : ''}`} type="number" step="0.05" min="0.05" max="0.9" value={form.testFraction} data-testid="table-test-fraction" onChange={(e) => setForm({ testFraction: e.target.value })} />
        </label>
        <label className="lf-field">
          <span className="lf-field-label">Split seed</span>
          <input className={`lf-input${errors.seed ? ' invalid' : ''}`} type="number" step="1" min="0" value={form.seed} data-testid="table-seed" onChange={(e) => setForm({ seed: e.target.value })} />
        </label>
        <label className="lf-field">
          <span className="lf-field-label">Dataset name</span>
          <input className={`lf-input${errors.name ? ' invalid' : ''}`} value={form.name} placeholder={fileStem(form.path)} data-testid="table-name" onChange={(e) => setForm({ name: e.target.value })} />
        </label>
      </div>
      {(errors.testFraction || errors.seed || errors.name) && <div className="lf-field-error">{[errors.testFraction, errors.seed, errors.name].filter(Boolean).join(' ')}</div>}
      <div className="lf-muted">
        Learns {task} of <b>{form.target || preview.target}</b> from {preview.rowCount - testRows} rows; {testRows} rows are kept apart to test it.
      </div>
      {preview.warnings.length > 0 && (
        <ul className="lf-table-warnings" data-testid="table-warnings">
          {preview.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}
      <PreviewGrid preview={preview} columnTypes={form.columnTypes} setType={(name, type) => setForm({ columnTypes: withType(form.columnTypes, preview, name, type) })} />
    </div>
  );
}

/** Column types after the user sets one: only the ones that differ from the inferred type are kept. */
function withType(types: Record<string, ColumnType>, preview: TablePreview, name: string, type: ColumnType): Record<string, ColumnType> {
  const { [name]: _old, ...rest } = types;
  const inferred = preview.columns.find((c) => c.name === name)?.type;
  return inferred === type ? rest : { ...rest, [name]: type };
}

function PreviewGrid({ preview, columnTypes, setType }: { preview: TablePreview; columnTypes: Record<string, ColumnType>; setType: (name: string, type: ColumnType) => void }) {
  return (
    <div className="lf-table-scroll" data-testid="table-preview-grid">
      <table className="lf-table">
        <thead>
          <tr>
            {preview.columns.map((c) => {
              const target = c.name === preview.target;
              const badge = columnBadge(c, columnTypes[c.name]);
              return (
                <th key={c.name} className={target ? 'target' : badge.type} data-testid="table-column" data-column={c.name} data-type={target ? 'target' : badge.type} title={badge.note}>
                  <div className="lf-table-colname">{c.name}</div>
                  {target ? (
                    <span className="lf-badge target">target</span>
                  ) : (
                    <select className={`lf-badge ${badge.type}`} value={badge.type} aria-label={`Use of column ${c.name}`} data-testid={`column-type-${c.name}`} onChange={(e) => setType(c.name, e.target.value as ColumnType)}>
                      {COLUMN_TYPES.map((t) => (
                        <option key={t} value={t}>
                          {t}
                        </option>
                      ))}
                    </select>
                  )}
                  <div className="lf-table-note">{badge.note}</div>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {preview.rows.map((row, i) => (
            <tr key={i}>
              {preview.header.map((h, j) => (
                <td key={h} className={h === preview.target ? 'target' : (columnTypes[h] ?? preview.columns[j]?.type)} title={row[j]}>
                  {row[j]}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
