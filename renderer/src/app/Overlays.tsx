import { useEffect } from 'react';
import type { DatasetInfo } from '../../../shared/api';
import { dispatch } from '../actions';
import { allActions } from '../actions/register';
import { graphStore } from '../store/graphStore';
import { uiStore, useUi } from '../store/uiStore';
import { TableImportDialog } from '../training/TableImportDialog';
import { FindLayerDialog } from './FindLayerDialog';
import { OpenDialog, SaveAsDialog } from './ProjectDialogs';

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
  if (dialog.kind === 'saveAs') return <SaveAsDialog key="saveAs" initial={dialog.initial} />;
  if (dialog.kind === 'open') return <OpenDialog key="open" />;
  if (dialog.kind === 'findLayer') return <FindLayerDialog key="findLayer" />;
  if (dialog.kind === 'importTable') return <TableImportDialog key={`table:${dialog.path}`} initialPath={dialog.path} onClose={closeDialog} onImported={chooseImportedDataset} />;
  return <DiscardDialog what={dialog.what} proceed={dialog.proceed} />;
}

const closeDialog = () => uiStore.setState({ dialog: null });

/** A table opened from the OS was imported: the project trains on it (fitted to it when the project asks so), as choosing it in the panel does. */
function chooseImportedDataset(info: DatasetInfo): void {
  closeDialog();
  graphStore.getState().setMeta({ dataset: info.id });
  if (graphStore.getState().meta.fitToDataset) dispatch('fitToDataset', info);
  uiStore.setState({ rightTab: 'train', inspectorOpen: true });
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
