import { useEffect, useRef, useState } from 'react';
import { allActions } from '../actions/register';
import { appContext } from '../actions';
import { saveProject } from '../project/files';
import { uiStore, useUi } from '../store/uiStore';

export function HelpOverlay() {
  const open = useUi((s) => s.helpOpen);
  if (!open) return null;
  const rows = allActions().filter((a) => a.shortcut);
  const close = () => uiStore.setState({ helpOpen: false });
  return (
    <div className="lf-modal-backdrop" onClick={close}>
      <div className="lf-modal lf-help" role="dialog" aria-label="Keyboard shortcuts" data-testid="help-overlay" onClick={(e) => e.stopPropagation()}>
        <div className="lf-modal-head">
          <h2>Keyboard shortcuts</h2>
          <button className="lf-btn lf-btn-ghost" onClick={close} aria-label="Close">
            ×
          </button>
        </div>
        <div className="lf-help-grid">
          {rows.map((a) => (
            <div key={a.name} className="lf-help-row">
              <span>{a.label}</span>
              <kbd>{a.shortcut}</kbd>
            </div>
          ))}
          <div className="lf-help-row">
            <span>Select several</span>
            <kbd>Drag on canvas / Shift+click</kbd>
          </div>
          <div className="lf-help-row">
            <span>Pan</span>
            <kbd>Space+drag / right-drag</kbd>
          </div>
          <div className="lf-help-row">
            <span>Zoom</span>
            <kbd>Wheel</kbd>
          </div>
          <div className="lf-help-row">
            <span>Connect</span>
            <kbd>Drag from ● below to ● above</kbd>
          </div>
        </div>
      </div>
    </div>
  );
}

export function Dialogs() {
  const dialog = useUi((s) => s.dialog);
  if (!dialog) return null;
  return dialog.kind === 'saveAs' ? <SaveAsDialog key="saveAs" initial={dialog.initial} /> : <DiscardDialog what={dialog.what} proceed={dialog.proceed} />;
}

function SaveAsDialog({ initial }: { initial: string }) {
  const [name, setName] = useState(initial);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.select();
  }, []);
  const close = () => uiStore.setState({ dialog: null });
  const submit = () => {
    if (!name.trim()) return;
    close();
    void saveProject(appContext, true, name.trim());
  };
  return (
    <div className="lf-modal-backdrop" onClick={close}>
      <form
        className="lf-modal"
        role="dialog"
        aria-label="Save as"
        data-testid="save-as-dialog"
        onClick={(e) => e.stopPropagation()}
        onSubmit={(e) => {
          e.preventDefault();
          submit();
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
            onChange={(e) => setName(e.target.value)}
            onKeyDown={(e) => e.key === 'Escape' && close()}
          />
        </label>
        <p className="lf-muted">{appContext.io.writesInPlace ? '' : 'The browser downloads the project file.'}</p>
        <div className="lf-row-buttons lf-right">
          <button type="button" className="lf-btn" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="lf-btn lf-btn-primary" data-testid="save-as-confirm">
            Save
          </button>
        </div>
      </form>
    </div>
  );
}

function DiscardDialog({ what, proceed }: { what: string; proceed: () => void }) {
  const close = () => uiStore.setState({ dialog: null });
  return (
    <div className="lf-modal-backdrop" onClick={close}>
      <div className="lf-modal" role="alertdialog" aria-label="Unsaved changes" data-testid="discard-dialog" onClick={(e) => e.stopPropagation()}>
        <h2>Unsaved changes</h2>
        <p>This project has changes that are not saved. Discard them and {what}?</p>
        <div className="lf-row-buttons lf-right">
          <button className="lf-btn" onClick={close} autoFocus>
            Cancel
          </button>
          <button
            className="lf-btn lf-btn-danger"
            data-testid="discard-confirm"
            onClick={() => {
              close();
              proceed();
            }}
          >
            Discard changes
          </button>
        </div>
      </div>
    </div>
  );
}

export function NoticeBar() {
  const notice = useUi((s) => s.notice);
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => uiStore.getState().dismissNotice(), notice.kind === 'error' ? 8000 : 3000);
    return () => clearTimeout(t);
  }, [notice]);
  if (!notice) return null;
  return (
    <div className={`lf-notice ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid="notice" key={notice.id}>
      <span>{notice.text}</span>
      <button className="lf-btn lf-btn-ghost" onClick={() => uiStore.getState().dismissNotice()} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}
