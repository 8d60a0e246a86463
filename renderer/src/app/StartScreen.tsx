import { useEffect, useMemo, useState } from 'react';
import type { ProjectEntry } from '../../../shared/api';
import { appContext, dispatch } from '../actions';
import { openFromEngine, openProjectText, startEmpty } from '../project/files';
import { baseName } from '../project/io';
import { adoptFound, discardFound, findRecovery, type FoundRecovery } from '../project/recovery';
import { GraphThumbnail } from './GraphThumbnail';
import { useProjectList } from './ProjectDialogs';
import { TEMPLATES } from './templates';

export function StartScreen() {
  const [found, setFound] = useState<FoundRecovery[]>([]);
  const recovery = found[0] ?? null;
  useEffect(() => {
    let live = true;
    void findRecovery(appContext).then((f) => live && setFound(f));
    return () => {
      live = false;
    };
  }, []);
  // The engine's projects folder and recent files; a start screen without an engine just shows none.
  const projects = useProjectList();
  const recent = useMemo<ProjectEntry[] | null>(() => {
    const l = projects.list;
    if (!l) return projects.error ? [] : null;
    return [...l.recent, ...l.projects.filter((p) => !l.recent.some((r) => r.path === p.path))].slice(0, 10);
  }, [projects.list, projects.error]);
  return (
    <div className="lf-start" data-testid="start-screen">
      <div className="lf-start-inner">
        {recovery && (
          <div className="lf-banner" data-testid="recovery-banner">
            <div>
              <strong>Unsaved work found.</strong> “{recovery.name}”{recovery.fileName ? ` (${baseName(recovery.fileName)})` : ''} was not saved when
              Layerforge last closed ({new Date(recovery.savedAt).toLocaleString()}).
              {found.length > 1 ? ` ${found.length - 1} more after this one.` : ''}
            </div>
            <div className="lf-row-buttons">
              <button
                className="lf-btn lf-btn-primary"
                data-testid="recovery-restore"
                onClick={() => {
                  if (openProjectText(appContext, recovery.text, recovery.fileName, { unsaved: true })) void adoptFound(appContext, recovery);
                }}
              >
                Restore
              </button>
              <button
                className="lf-btn"
                data-testid="recovery-discard"
                onClick={() => {
                  void discardFound(appContext, recovery);
                  setFound((f) => f.slice(1));
                }}
              >
                Discard
              </button>
            </div>
          </div>
        )}
        <header className="lf-start-head">
          <h1>Layerforge</h1>
          <p className="lf-muted">Build, train and export deep-learning models visually.</p>
        </header>
        <div className="lf-start-actions">
          <button className="lf-btn lf-btn-primary" data-testid="start-empty" onClick={() => startEmpty(appContext)}>
            New empty model
          </button>
          <button className="lf-btn" data-testid="start-open-project" onClick={() => dispatch('openProject')}>
            Open project…
          </button>
          <button className="lf-btn" data-testid="start-open" title="Open a project file from this computer (upload)" onClick={() => dispatch('importProjectFile')}>
            Import file…
          </button>
        </div>
        <h2>Templates</h2>
        <div className="lf-template-grid">
          {TEMPLATES.map((t) => (
            <button
              key={t.id}
              className="lf-template"
              data-testid={`template-${t.id}`}
              onClick={() => openProjectText(appContext, t.text, t.fileName, { asTemplate: true })}
            >
              <GraphThumbnail graph={t.project.graph} />
              <div className="lf-template-name">{t.project.name}</div>
              <div className="lf-template-desc">{t.project.description ?? `${t.project.graph.nodes.length} layers`}</div>
            </button>
          ))}
        </div>
        <h2>Recent projects</h2>
        {recent === null ? null : recent.length === 0 ? (
          <p className="lf-muted">Projects you save (Ctrl+S) or open appear here.</p>
        ) : (
          <ul className="lf-recent" data-testid="recent-list">
            {recent.map((r) => (
              <li key={r.path}>
                <button
                  className={`lf-recent-open${r.error ? ' lf-damaged' : ''}`}
                  data-testid={`recent-${r.name}`}
                  title={r.error ? `${r.path} cannot be opened: ${r.error}` : `Open ${r.path}`}
                  onClick={() => void openFromEngine(appContext, { path: r.path })}
                >
                  <span className="lf-recent-name">{r.title ?? r.name}</span>
                  <span className="lf-muted">
                    {r.inFolder ? r.name : r.path} · {r.error ? 'damaged' : new Date(r.modifiedAt).toLocaleString()}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
