import { appContext, dispatch, getAction } from '../actions';
import { isDirty, useGraph } from '../store/graphStore';
import { resolvedTheme, useUi } from '../store/uiStore';
import { ExportMenu } from '../export/ExportMenu';
import { baseName, isEnginePath } from '../project/io';

function ActionButton({ name, children, testid }: { name: string; children: React.ReactNode; testid?: string }) {
  const action = getAction(name);
  // Subscribe to what `enabled` reads so buttons grey out and back in.
  useGraph((s) => s.history);
  useGraph((s) => s.selectedNodes);
  useGraph((s) => s.screen);
  const enabled = !action.enabled || action.enabled(appContext);
  return (
    <button
      className="lf-btn lf-btn-ghost"
      disabled={!enabled}
      title={action.shortcut ? `${action.label} (${action.shortcut})` : action.label}
      data-testid={testid ?? `btn-${name}`}
      onClick={() => dispatch(name)}
    >
      {children}
    </button>
  );
}

export function TopBar() {
  const screen = useGraph((s) => s.screen);
  const fileName = useGraph((s) => s.fileName);
  const name = useGraph((s) => s.meta.name);
  const dirty = useGraph(isDirty);
  const theme = useUi(resolvedTheme);
  const snap = useUi((s) => s.snapToGrid);
  const editor = screen === 'editor';
  return (
    <header className="lf-topbar">
      <button className="lf-brand" onClick={() => dispatch('goHome')} title="Start screen" data-testid="btn-home">
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden>
          <rect x="3" y="3" width="8" height="5" rx="1.5" fill="currentColor" opacity="0.9" />
          <rect x="13" y="10" width="8" height="5" rx="1.5" fill="currentColor" opacity="0.7" />
          <rect x="3" y="16" width="8" height="5" rx="1.5" fill="currentColor" opacity="0.5" />
          <path d="M7 8v8M11 5.5h6v4.5M17 15v3.5h-6" stroke="currentColor" strokeWidth="1.4" fill="none" />
        </svg>
        Layerforge
      </button>
      <nav className="lf-toolbar">
        <ActionButton name="newProject">New</ActionButton>
        <ActionButton name="openProject">Open</ActionButton>
        <ActionButton name="saveProject">Save</ActionButton>
        <ActionButton name="saveProjectAs">Save as</ActionButton>
        <ActionButton name="importModel">Import</ActionButton>
        {editor && <ExportMenu />}
        {editor && (
          <>
            <span className="lf-sep" />
            <ActionButton name="undo">Undo</ActionButton>
            <ActionButton name="redo">Redo</ActionButton>
            <span className="lf-sep" />
            <ActionButton name="autoLayout">Layout</ActionButton>
            <ActionButton name="fitView">Fit</ActionButton>
            <button
              className={`lf-btn lf-btn-ghost${snap ? ' active' : ''}`}
              aria-pressed={snap}
              title="Snap to grid (G)"
              data-testid="btn-toggleSnap"
              onClick={() => dispatch('toggleSnap')}
            >
              Snap
            </button>
          </>
        )}
      </nav>
      <div className="lf-title" data-testid="project-title" title={fileName ? (isEnginePath(fileName) ? `Saved as ${fileName}` : `${fileName} (imported: Save asks where to save it)`) : 'Not saved yet'}>
        {editor && (
          <>
            <span className="lf-title-name">{name}</span>
            <span className="lf-title-file" data-testid="project-file">
              {fileName ? baseName(fileName) : 'not saved'}
            </span>
            <span className={`lf-dirty${dirty ? ' on' : ''}`} data-testid="dirty-mark" aria-label={dirty ? 'unsaved changes' : 'saved'}>
              {dirty ? '●' : ''}
            </span>
          </>
        )}
      </div>
      <div className="lf-toolbar lf-toolbar-right">
        <button
          className="lf-btn lf-btn-ghost"
          title={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme (Shift+T)`}
          data-testid="btn-theme"
          onClick={() => dispatch('toggleTheme')}
        >
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <ActionButton name="toggleHelp" testid="btn-help">
          ?
        </ActionButton>
      </div>
    </header>
  );
}
