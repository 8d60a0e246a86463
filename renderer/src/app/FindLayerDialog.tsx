/** Edit > Find Layer (Ctrl/⌘+F): type part of a node's name or type, Enter selects it and brings it into view. */
import { useMemo, useState } from 'react';
import { appContext } from '../actions';
import { useGraph } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { findNodes, type NodeMatch } from './findNodes';

const SHOWN = 50;

/** Selects the node and centres the canvas on it. */
export function revealNode(id: string): void {
  appContext.graph.getState().select([id]);
  appContext.view.focusNode?.(id);
}

export function FindLayerDialog() {
  const nodes = useGraph((s) => s.doc.nodes);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const matches = useMemo(() => findNodes(nodes, query), [nodes, query]);
  const close = () => uiStore.setState({ dialog: null });
  const pick = (m: NodeMatch | undefined) => {
    if (!m) return;
    close();
    revealNode(m.id);
  };
  const at = Math.min(active, Math.max(0, matches.length - 1));
  return (
    <div className="lf-modal-backdrop" onClick={close}>
      <div className="lf-modal lf-find" role="dialog" aria-label="Find layer" data-testid="find-layer" onClick={(e) => e.stopPropagation()}>
        <h2>Find layer</h2>
        <input
          className="lf-input"
          autoFocus
          placeholder="Name or type, e.g. conv2d_1, dense, pool"
          aria-label="Find a layer by name or type"
          data-testid="find-layer-input"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') setActive(Math.min(at + 1, Math.min(matches.length, SHOWN) - 1));
            else if (e.key === 'ArrowUp') setActive(Math.max(at - 1, 0));
            else if (e.key === 'Enter') pick(matches[at]);
            else if (e.key === 'Escape') close();
            else return;
            e.preventDefault();
            e.stopPropagation();
          }}
        />
        {matches.length === 0 ? (
          <p className="lf-muted" data-testid="find-layer-none">
            {nodes.length === 0 ? 'The graph is empty.' : `No layer matches “${query.trim()}”.`}
          </p>
        ) : (
          <ul className="lf-find-list" role="listbox" aria-label="Matching layers">
            {matches.slice(0, SHOWN).map((m, i) => (
              <li
                key={m.id}
                role="option"
                aria-selected={i === at}
                className={i === at ? 'active' : ''}
                data-testid="find-layer-match"
                onMouseEnter={() => setActive(i)}
                onClick={() => pick(m)}
              >
                <span className="lf-find-name">{m.name}</span>
                <span className="lf-muted">{m.label}</span>
              </li>
            ))}
            {matches.length > SHOWN ? <li className="lf-muted">and {matches.length - SHOWN} more: type more of the name</li> : null}
          </ul>
        )}
      </div>
    </div>
  );
}
