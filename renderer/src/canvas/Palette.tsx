import { useMemo, useRef, useState } from 'react';
import { CATEGORIES, LAYERS, type AnyLayerDef } from '../../../shared/layers';
import { dispatch } from '../actions';
import { LAYER_MIME } from './Canvas';
import { categoryColor } from './colors';

function matches(def: AnyLayerDef, q: string): boolean {
  if (!q) return true;
  const hay = `${def.label} ${def.type} ${def.category} ${def.description}`.toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

export function Palette() {
  const [query, setQuery] = useState('');
  const [hovered, setHovered] = useState<AnyLayerDef | null>(null);
  const search = useRef<HTMLInputElement>(null);
  const groups = useMemo(() => {
    const q = query.trim();
    const hits = LAYERS.filter((d) => matches(d, q));
    // Label matches first, so Enter adds what the user most likely meant.
    const rank = (d: AnyLayerDef) => (d.label.toLowerCase().startsWith(q.toLowerCase()) || d.type.toLowerCase().startsWith(q.toLowerCase()) ? 0 : 1);
    const sorted = q ? [...hits].sort((a, b) => rank(a) - rank(b)) : hits;
    const known = CATEGORIES.map((c) => ({ category: c as string, items: sorted.filter((d) => d.category === c) }));
    const others = sorted.filter((d) => !(CATEGORIES as readonly string[]).includes(d.category));
    if (others.length) known.push({ category: 'Other', items: others });
    return { list: known.filter((g) => g.items.length > 0), first: sorted[0] };
  }, [query]);

  const add = (type: string) => dispatch('addLayer', { type });

  return (
    <aside className="lf-palette" data-testid="palette" aria-label="Layer palette">
      <div className="lf-panel-title">Layers</div>
      <input
        ref={search}
        className="lf-input lf-palette-search"
        placeholder="Search layers…  (Enter adds)"
        value={query}
        data-testid="palette-search"
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && groups.first) {
            add(groups.first.type);
            setQuery('');
          } else if (e.key === 'Escape') {
            setQuery('');
            search.current?.blur();
          }
        }}
      />
      <div className="lf-palette-list">
        {groups.list.map((g) => (
          <div key={g.category} className="lf-palette-group">
            <div className="lf-palette-cat" style={{ color: categoryColor(g.category) }}>
              {g.category}
            </div>
            {g.items.map((def) => (
              <div
                key={def.type}
                className="lf-palette-item"
                draggable
                tabIndex={0}
                role="button"
                title={def.description}
                data-testid={`palette-item-${def.type}`}
                style={{ '--cat': categoryColor(def.category) } as React.CSSProperties}
                onDragStart={(e) => {
                  e.dataTransfer.setData(LAYER_MIME, def.type);
                  e.dataTransfer.setData('text/plain', def.type);
                  e.dataTransfer.effectAllowed = 'copy';
                }}
                onDoubleClick={() => add(def.type)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') add(def.type);
                }}
                onMouseEnter={() => setHovered(def)}
                onMouseLeave={() => setHovered((h) => (h === def ? null : h))}
              >
                <span className="lf-palette-swatch" />
                {def.label}
              </div>
            ))}
          </div>
        ))}
        {groups.list.length === 0 && <div className="lf-muted lf-pad">No layer matches “{query}”.</div>}
      </div>
      <div className="lf-palette-help" data-testid="palette-description">
        {hovered ? (
          <>
            <strong>{hovered.label}</strong> {hovered.description}
          </>
        ) : (
          <span className="lf-muted">Drag onto the canvas, or double-click to add.</span>
        )}
      </div>
    </aside>
  );
}
