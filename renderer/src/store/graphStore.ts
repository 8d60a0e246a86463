/**
 * The graph store: the document (graph + positions), its undo history, the open project's other
 * fields, and the view state that goes with the canvas (selection, measured node sizes). Only
 * `commit` changes the document, and only document changes enter the history.
 */
import { createStore } from 'zustand/vanilla';
import { useStore } from 'zustand';
import type { NodeChange, EdgeChange } from '@xyflow/react';
import { newProject, type ProjectFile } from '../../../shared/project';
import type { XY } from '../../../shared/graph';
import { docFromGraph, EMPTY_DOC, graphFromDoc, moveNodes, removeItems, type Doc } from './document';
import { boxMoves } from './groups';
import { closeGroup, EMPTY_HISTORY, record, redo as redoStep, undo as undoStep, type History } from './history';

export type ProjectMeta = Omit<ProjectFile, 'graph' | 'format' | 'version'>;
export interface Size {
  width: number;
  height: number;
}

const NO_IDS: ReadonlySet<string> = new Set();

export interface GraphState {
  doc: Doc;
  history: History;
  /** The document as last saved (or opened); `doc !== savedDoc` means unsaved changes. */
  savedDoc: Doc;
  meta: ProjectMeta;
  metaVersion: number;
  savedMetaVersion: number;
  /** File name of the open project, null when it was never saved. */
  fileName: string | null;
  screen: 'start' | 'editor';
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  measured: Readonly<Record<string, Size>>;
  /** True while a node drag is in progress. */
  dragging: boolean;
  dragSession: number;
  /** Bumped whenever a project is loaded: the canvas fits the view to it once its nodes are measured. */
  loadCount: number;

  commit(next: Doc, label: string, mergeKey?: string): void;
  /** Ends a merge group (a typing session in a field). */
  endGroup(): void;
  undo(): boolean;
  redo(): boolean;
  loadProject(project: ProjectFile, fileName: string | null, options?: { unsaved?: boolean }): void;
  /**
   * Marks the project saved as `fileName`. `saved` is the document and meta version that were written
   * (taken when the save started); edits made since then keep the project marked unsaved.
   */
  markSaved(fileName: string, saved?: { doc: Doc; metaVersion: number }): void;
  setMeta(change: Partial<ProjectMeta>): void;
  toProject(): ProjectFile;
  select(nodes: Iterable<string>, edges?: Iterable<string>): void;
  onNodesChange(changes: NodeChange[]): void;
  onEdgesChange(changes: EdgeChange[]): void;
  closeProject(): void;
}

function metaOf(p: ProjectFile): ProjectMeta {
  const { graph: _g, format: _f, version: _v, ...meta } = p;
  return meta;
}

export function createGraphStore() {
  return createStore<GraphState>()((set, get) => ({
    doc: EMPTY_DOC,
    history: EMPTY_HISTORY,
    savedDoc: EMPTY_DOC,
    meta: metaOf(newProject()),
    metaVersion: 0,
    savedMetaVersion: 0,
    fileName: null,
    screen: 'start',
    selectedNodes: NO_IDS,
    selectedEdges: NO_IDS,
    measured: {},
    dragging: false,
    dragSession: 0,
    loadCount: 0,

    commit(next, label, mergeKey) {
      const { doc, history, selectedNodes, selectedEdges } = get();
      if (next === doc) return;
      // A move (every mouse move of a drag) keeps the nodes and edges: the selection stays as it is.
      const same = next.nodes === doc.nodes && next.edges === doc.edges;
      set({
        doc: next,
        history: record(history, doc, label, mergeKey),
        selectedNodes: same ? selectedNodes : prune(selectedNodes, new Set(next.nodes.map((n) => n.id))),
        selectedEdges: same ? selectedEdges : prune(selectedEdges, new Set(next.edges.map((e) => e.id))),
      });
    },
    endGroup() {
      const h = get().history;
      const closed = closeGroup(h);
      if (closed !== h) set({ history: closed });
    },
    undo() {
      const { history, doc } = get();
      const step = undoStep(history, doc);
      if (!step) return false;
      set({ doc: step.doc, history: step.history, ...pruneSelection(get(), step.doc) });
      return true;
    },
    redo() {
      const { history, doc } = get();
      const step = redoStep(history, doc);
      if (!step) return false;
      set({ doc: step.doc, history: step.history, ...pruneSelection(get(), step.doc) });
      return true;
    },
    loadProject(project, fileName, options = {}) {
      const doc = docFromGraph(project.graph);
      const version = get().metaVersion + 1;
      set({
        doc,
        savedDoc: options.unsaved ? EMPTY_DOC : doc,
        history: EMPTY_HISTORY,
        meta: metaOf(project),
        metaVersion: version,
        savedMetaVersion: options.unsaved ? -1 : version,
        fileName,
        screen: 'editor',
        selectedNodes: NO_IDS,
        selectedEdges: NO_IDS,
        measured: {},
        dragging: false,
        loadCount: get().loadCount + 1,
      });
    },
    markSaved(fileName, saved) {
      set((s) => ({ savedDoc: saved?.doc ?? s.doc, savedMetaVersion: saved?.metaVersion ?? s.metaVersion, fileName }));
    },
    setMeta(change) {
      set((s) => ({ meta: { ...s.meta, ...change }, metaVersion: s.metaVersion + 1 }));
    },
    toProject() {
      const { doc, meta } = get();
      return { ...newProject(meta.name, graphFromDoc(doc)), ...meta };
    },
    select(nodes, edges = []) {
      set({ selectedNodes: new Set(nodes), selectedEdges: new Set(edges) });
    },
    onNodesChange(changes) {
      const state = get();
      let selected: Set<string> | null = null;
      let measured: Record<string, Size> | null = null;
      const moves: Record<string, XY> = {};
      let moved = false;
      let dragEnded = false;
      let dragging = state.dragging;
      const removed: string[] = [];
      for (const c of changes) {
        switch (c.type) {
          case 'select':
            selected ??= new Set(state.selectedNodes);
            if (c.selected) selected.add(c.id);
            else selected.delete(c.id);
            break;
          case 'dimensions':
            if (c.dimensions) {
              const old = state.measured[c.id];
              if (!old || old.width !== c.dimensions.width || old.height !== c.dimensions.height) {
                measured ??= { ...state.measured };
                measured[c.id] = { width: c.dimensions.width, height: c.dimensions.height };
              }
            }
            break;
          case 'position':
            if (c.position) {
              moves[c.id] = c.position;
              moved = true;
            }
            if (c.dragging === true) dragging = true;
            if (c.dragging === false && state.dragging) dragEnded = true;
            break;
          case 'remove':
            removed.push(c.id);
            break;
          default:
            break;
        }
      }
      const patch: Partial<GraphState> = {};
      if (selected) patch.selectedNodes = selected;
      if (measured) patch.measured = measured;
      if (Object.keys(patch).length > 0) set(patch);
      if (dragging && !state.dragging) set({ dragging: true, dragSession: state.dragSession + 1 });
      if (moved) {
        const s = get();
        // A collapsed group's box moves its nodes (the box is drawn at their top-left corner).
        get().commit(moveNodes(s.doc, boxMoves(s.doc, moves)), 'Move', `drag:${s.dragSession}`);
      }
      if (removed.length > 0) get().commit(removeItems(get().doc, removed), 'Delete');
      if (dragEnded) {
        set({ dragging: false });
        get().endGroup();
      }
    },
    onEdgesChange(changes) {
      const state = get();
      let selected: Set<string> | null = null;
      const removed: string[] = [];
      for (const c of changes) {
        if (c.type === 'select') {
          selected ??= new Set(state.selectedEdges);
          if (c.selected) selected.add(c.id);
          else selected.delete(c.id);
        } else if (c.type === 'remove') removed.push(c.id);
      }
      if (selected) set({ selectedEdges: selected });
      if (removed.length > 0) get().commit(removeItems(get().doc, [], removed), 'Delete connection');
    },
    closeProject() {
      set({ screen: 'start', selectedNodes: NO_IDS, selectedEdges: NO_IDS });
    },
  }));
}

function prune(ids: ReadonlySet<string>, keep: ReadonlySet<string>): ReadonlySet<string> {
  for (const id of ids) {
    if (!keep.has(id)) return new Set([...ids].filter((i) => keep.has(i)));
  }
  return ids;
}

function pruneSelection(s: GraphState, doc: Doc): Pick<GraphState, 'selectedNodes' | 'selectedEdges'> {
  return {
    selectedNodes: prune(s.selectedNodes, new Set(doc.nodes.map((n) => n.id))),
    selectedEdges: prune(s.selectedEdges, new Set(doc.edges.map((e) => e.id))),
  };
}

export type GraphStore = ReturnType<typeof createGraphStore>;

/** The app's one graph store. */
export const graphStore: GraphStore = createGraphStore();

export function useGraph<T>(selector: (s: GraphState) => T): T {
  return useStore(graphStore, selector);
}

export function isDirty(s: GraphState): boolean {
  return s.doc !== s.savedDoc || s.metaVersion !== s.savedMetaVersion;
}
