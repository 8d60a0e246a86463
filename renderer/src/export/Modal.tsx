/** The frame of the export/import dialogs: backdrop, title, Escape to close; keys typed inside stay inside. */
import type { ReactNode } from 'react';
import { closeExportDialog } from './store';

export function Modal({
  title,
  testid,
  wide,
  className,
  children,
  onClose = closeExportDialog,
}: {
  title: string;
  testid: string;
  wide?: boolean;
  /** Extra classes of the dialog box (its width, for a table preview). */
  className?: string;
  children: ReactNode;
  onClose?: () => void;
}) {
  return (
    <div className="lf-modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className={`lf-modal lf-export-modal${wide ? ' wide' : ''}${className ? ` ${className}` : ''}`}
        role="dialog"
        aria-modal="true"
        aria-label={title}
        data-testid={testid}
        onKeyDown={(e) => {
          // Editor shortcuts (L, Delete, Ctrl+Z…) must not act on the canvas behind the dialog.
          e.stopPropagation();
          if (e.key === 'Escape') {
            e.preventDefault();
            onClose();
          }
        }}
      >
        <div className="lf-modal-head">
          <h2>{title}</h2>
          <button type="button" className="lf-btn lf-btn-ghost" onClick={onClose} aria-label="Close" data-testid={`${testid}-close`}>
            ×
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}
