/** The top bar's Export menu: summary image and trained model (each an action, so shortcuts do the same). */
import { useEffect, useRef, useState } from 'react';
import { appContext, dispatch, getAction } from '../actions';
import { useGraph } from '../store/graphStore';

const ITEMS = ['exportImage', 'exportModel'] as const;

export function ExportMenu() {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  // Re-render when what `enabled` reads changes.
  useGraph((s) => s.doc.nodes.length);
  useGraph((s) => s.screen);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  return (
    <div className="lf-menu" ref={root}>
      <button
        className={`lf-btn lf-btn-ghost${open ? ' active' : ''}`}
        aria-haspopup="menu"
        aria-expanded={open}
        data-testid="btn-export-menu"
        title="Export the model as an image or a trained model"
        onClick={() => setOpen((o) => !o)}
      >
        Export ▾
      </button>
      {open && (
        <div
          className="lf-menu-list"
          role="menu"
          data-testid="export-menu"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              setOpen(false);
            }
          }}
        >
          {ITEMS.map((name) => {
            const action = getAction(name);
            const enabled = !action.enabled || action.enabled(appContext);
            return (
              <button
                key={name}
                role="menuitem"
                className="lf-menu-item"
                disabled={!enabled}
                data-testid={`menu-${name}`}
                onClick={() => {
                  setOpen(false);
                  dispatch(name);
                }}
              >
                <span>{action.label}</span>
                {action.shortcut && <kbd>{action.shortcut}</kbd>}
              </button>
            );
          })}
        </div>
      )}
    </div>
  );
}
