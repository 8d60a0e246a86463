/**
 * Save As and Open. Both work on the engine's projects folder (`<data dir>/projects`), which is where a
 * browser in serve mode may save; the desktop app uses native dialogs for Save As and adds Browse… here.
 * A failed save or open is shown in the dialog (and as a notice) with the file and the reason; the
 * project in the editor is untouched.
 */
import { useEffect, useRef, useState } from 'react';
import type { ProjectEntry, ProjectList } from '../../../shared/api';
import { appContext, dispatch } from '../actions';
import { openFromEngine, openWithDialog, saveProjectNamed } from '../project/files';
import { projectFileName } from '../project/io';
import { uiStore } from '../store/uiStore';

const close = () => uiStore.setState({ dialog: null });

/** Escape closes the dialog, wherever the focus is. */
function useEscapeCloses(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        close();
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);
}

/** The projects folder listing (for the Save As hint, the Open list and the start screen's recent projects). */
export function useProjectList(): { list: ProjectList | null; error: string | null; reload(): void } {
  const [list, setList] = useState<ProjectList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    appContext.io
      .files()
      .listProjects()
      .then(
        (l) => live && (setList(l), setError(null)),
        (e: unknown) => live && setError(`Could not list the projects folder: ${e instanceof Error ? e.message : String(e)}`),
      );
    return () => {
      live = false;
    };
  }, [n]);
  return { list, error, reload: () => setN((x) => x + 1) };
}

export function SaveAsDialog({ initial }: { initial: string }) {
  const [name, setName] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [replace, setReplace] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const { list } = useProjectList();
  useEscapeCloses();
  useEffect(() => {
    const el = input.current;
    if (!el) return;
    el.focus();
    // Select the name without its extension, as desktop save dialogs do.
    el.setSelectionRange(0, initial.endsWith('.json') ? initial.length - 5 : initial.length);
  }, [initial]);
  const fileName = name.trim() ? projectFileName(name) : '';

  const save = async (overwrite: boolean) => {
    if (!name.trim() || busy) return;
    setBusy(true);
    setError(null);
    const r = await saveProjectNamed(appContext, name.trim(), overwrite);
    setBusy(false);
    if (r.ok) close();
    else if (!r.cancelled && r.exists) setReplace(fileName);
    else if (!r.cancelled) {
      setReplace(null);
      setError(r.error);
    }
  };

  return (
    <div className="lf-modal-backdrop" onClick={close}>
      <form
        className="lf-modal lf-modal-wide"
        role="dialog"
        aria-label="Save as"
        data-testid="save-as-dialog"
        onClick={(e) => e.stopPropagation()}
        onSubmit={(e) => {
          e.preventDefault();
          void save(false);
        }}
      >
        <h2>Save project as</h2>
        <label className="lf-field">
          <span className="lf-field-label">File name</span>
          <input
            ref={input}
            className="lf-input"
            value={name}
            data-testid="save-as-name"
            disabled={busy}
            onChange={(e) => {
              setName(e.target.value);
              setReplace(null);
              setError(null);
            }}
          />
        </label>
        <p className="lf-muted lf-path" data-testid="save-as-dir">
          {list ? (
            <>
              Saved as <code>{fileName || '…'}</code> in the projects folder <code>{list.dir}</code>. Each save is written safely and the previous version is
              kept as <code>.bak</code>.
            </>
          ) : (
            'Saved in the projects folder of the engine.'
          )}
        </p>
        {replace && (
          <div className="lf-alert" role="alert" data-testid="save-as-exists">
            <span>
              <strong>{replace}</strong> already exists. Replace it? Its current version is kept as {replace}.bak.
            </span>
            <button type="button" className="lf-btn lf-btn-danger" data-testid="save-as-replace" disabled={busy} onClick={() => void save(true)}>
              Replace
            </button>
          </div>
        )}
        {error && (
          <div className="lf-alert" role="alert" data-testid="save-error">
            {error}
          </div>
        )}
        <div className="lf-row-buttons lf-spread">
          <button
            type="button"
            className="lf-btn lf-btn-ghost"
            data-testid="save-as-download"
            title="Download the project file to this computer instead (it is not saved in the projects folder)"
            onClick={() => {
              close();
              dispatch('downloadProjectCopy');
            }}
          >
            Download a copy instead
          </button>
          <span className="lf-row-buttons">
            <button type="button" className="lf-btn" onClick={close}>
              Cancel
            </button>
            <button type="submit" className="lf-btn lf-btn-primary" data-testid="save-as-confirm" disabled={busy || !name.trim()}>
              {busy ? 'Saving…' : 'Save'}
            </button>
          </span>
        </div>
      </form>
    </div>
  );
}

function describe(p: ProjectEntry): string {
  const when = new Date(p.modifiedAt).toLocaleString();
  return p.error ? `cannot be opened: ${p.error}` : `${p.title ?? ''}${p.nodes !== undefined ? ` · ${p.nodes} layers` : ''} · ${when}`;
}

function ProjectRow({ p, busy, open }: { p: ProjectEntry; busy: boolean; open(p: ProjectEntry): void }) {
  return (
    <li>
      <button
        className={`lf-recent-open${p.error ? ' lf-damaged' : ''}`}
        data-testid={`open-item-${p.name}`}
        disabled={busy}
        title={p.path}
        onClick={() => open(p)}
      >
        <span className="lf-recent-name">{p.name}</span>
        <span className="lf-muted">{describe(p)}</span>
      </button>
    </li>
  );
}

export function OpenDialog() {
  const { list, error: listError } = useProjectList();
  useEscapeCloses();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const open = async (p: ProjectEntry) => {
    setBusy(true);
    setError(null);
    const e = await openFromEngine(appContext, { path: p.path });
    setBusy(false);
    if (e) setError(e);
    else close();
  };
  const elsewhere = list?.recent.filter((r) => !r.inFolder) ?? [];
  return (
    <div className="lf-modal-backdrop" onClick={close}>
      <div className="lf-modal lf-modal-wide" role="dialog" aria-label="Open project" data-testid="open-dialog" onClick={(e) => e.stopPropagation()}>
        <div className="lf-modal-head">
          <h2>Open project</h2>
          <button className="lf-btn lf-btn-ghost" onClick={close} aria-label="Close">
            ×
          </button>
        </div>
        {list && (
          <p className="lf-muted lf-path">
            Projects folder: <code data-testid="open-dir">{list.dir}</code>
          </p>
        )}
        {listError && (
          <div className="lf-alert" role="alert">
            {listError}
          </div>
        )}
        {list && list.projects.length === 0 && <p className="lf-muted">No projects saved yet. Save one with Ctrl+S, or import a file.</p>}
        {list && list.projects.length > 0 && (
          <ul className="lf-recent lf-projects-list" data-testid="open-list">
            {list.projects.map((p) => (
              <ProjectRow key={p.path} p={p} busy={busy} open={(x) => void open(x)} />
            ))}
          </ul>
        )}
        {elsewhere.length > 0 && (
          <>
            <h3 className="lf-subhead">Recent, elsewhere</h3>
            <ul className="lf-recent lf-projects-list">
              {elsewhere.map((p) => (
                <ProjectRow key={p.path} p={{ ...p, name: p.path }} busy={busy} open={(x) => void open(x)} />
              ))}
            </ul>
          </>
        )}
        {error && (
          <div className="lf-alert" role="alert" data-testid="open-error">
            {error}
          </div>
        )}
        <div className="lf-row-buttons lf-spread">
          <span className="lf-row-buttons">
            {list?.nativeDialogs && (
              <button
                className="lf-btn"
                data-testid="open-browse"
                disabled={busy}
                onClick={() => {
                  setBusy(true);
                  void openWithDialog(appContext).then((r) => {
                    setBusy(false);
                    if (r.ok) close();
                    else if (r.error) setError(r.error);
                  });
                }}
              >
                Browse…
              </button>
            )}
            <button className="lf-btn" data-testid="open-import-file" title="Open a project file from this computer (browser upload)" onClick={() => dispatch('importProjectFile')}>
              Import file…
            </button>
          </span>
          <button className="lf-btn" onClick={close}>
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
