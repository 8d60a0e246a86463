/**
 * Undo history over documents. It records document changes only (never selection or view state), and
 * consecutive commits that share a merge key (one drag, one typing session in a field) become one step.
 */
import type { Doc } from './document';

export interface HistoryEntry {
  readonly doc: Doc;
  readonly label: string;
}

export interface History {
  readonly past: readonly HistoryEntry[];
  readonly future: readonly HistoryEntry[];
  /** Merge key of the last commit while its group is still open. */
  readonly openKey: string | null;
}

export const EMPTY_HISTORY: History = { past: [], future: [], openKey: null };
export const HISTORY_LIMIT = 300;

/** Records that `current` is being replaced by a new document. */
export function record(h: History, current: Doc, label: string, mergeKey?: string): History {
  if (mergeKey && h.openKey === mergeKey && h.past.length > 0) {
    // The same object when nothing changes: a drag commits on every mouse move, and what reads the history
    // (the Undo / Redo buttons) need not render again for each.
    return h.future.length === 0 ? h : { ...h, future: [] };
  }
  const past = [...h.past, { doc: current, label }];
  if (past.length > HISTORY_LIMIT) past.splice(0, past.length - HISTORY_LIMIT);
  return { past, future: [], openKey: mergeKey ?? null };
}

/** Closes the open merge group, so the next commit is a step of its own. */
export function closeGroup(h: History): History {
  return h.openKey === null ? h : { ...h, openKey: null };
}

export function undo(h: History, current: Doc): { history: History; doc: Doc; label: string } | null {
  const last = h.past[h.past.length - 1];
  if (!last) return null;
  return {
    doc: last.doc,
    label: last.label,
    history: { past: h.past.slice(0, -1), future: [...h.future, { doc: current, label: last.label }], openKey: null },
  };
}

export function redo(h: History, current: Doc): { history: History; doc: Doc; label: string } | null {
  const next = h.future[h.future.length - 1];
  if (!next) return null;
  return {
    doc: next.doc,
    label: next.label,
    history: { past: [...h.past, { doc: current, label: next.label }], future: h.future.slice(0, -1), openKey: null },
  };
}
