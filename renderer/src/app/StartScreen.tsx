import { useState } from 'react';
import { appContext, dispatch } from '../actions';
import { openProjectText, startEmpty } from '../project/files';
import { clearRecovery, readRecovery, recentProjects, removeRecent, type Recovery } from '../project/storage';
import { GraphThumbnail } from './GraphThumbnail';
import { TEMPLATES } from './templates';

/** Read once at start-up, before autosave can overwrite it. */
const recoveryAtStart: Recovery | null = readRecovery();

export function StartScreen() {
  const [recovery, setRecovery] = useState<Recovery | null>(recoveryAtStart);
  const [recent, setRecent] = useState(recentProjects);
  return (
    <div className="lf-start" data-testid="start-screen">
      <div className="lf-start-inner">
        {recovery && (
          <div className="lf-banner" data-testid="recovery-banner">
            <div>
              <strong>Unsaved work found.</strong> “{recovery.name}”{recovery.fileName ? ` (${recovery.fileName})` : ''} was not saved when
              Layerforge last closed ({new Date(recovery.savedAt).toLocaleString()}).
            </div>
            <div className="lf-row-buttons">
              <button
                className="lf-btn lf-btn-primary"
                data-testid="recovery-restore"
                onClick={() => {
                  if (openProjectText(appContext, recovery.text, recovery.fileName, { unsaved: true })) setRecovery(null);
                }}
              >
                Restore
              </button>
              <button
                className="lf-btn"
                data-testid="recovery-discard"
                onClick={() => {
                  clearRecovery();
                  setRecovery(null);
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
          <button className="lf-btn" data-testid="start-open" onClick={() => dispatch('openProject')}>
            Open project…
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
        {recent.length === 0 ? (
          <p className="lf-muted">Projects you open or save appear here.</p>
        ) : (
          <ul className="lf-recent" data-testid="recent-list">
            {recent.map((r) => (
              <li key={r.fileName}>
                <button
                  className="lf-recent-open"
                  disabled={!r.text}
                  title={r.text ? `Open ${r.fileName}` : 'Too large to keep here: use Open…'}
                  onClick={() => r.text && openProjectText(appContext, r.text, r.fileName)}
                >
                  <span className="lf-recent-name">{r.name}</span>
                  <span className="lf-muted">
                    {r.fileName} · {new Date(r.savedAt).toLocaleString()}
                  </span>
                </button>
                <button
                  className="lf-btn lf-btn-ghost"
                  title="Remove from the list"
                  onClick={() => {
                    removeRecent(r.fileName);
                    setRecent(recentProjects());
                  }}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
