/**
 * Group and fine-tuning actions: collapse / expand a node group (laid out again, one undo step), freeze
 * or unfreeze a group or a node, and "replace the head" at a node.
 */
import { getLayer, type ParamValue } from '../../../shared/layers';
import type { DatasetInfo } from '../../../shared/api';
import { formatCount } from '../canvas/flowModel';
import { analyzeDoc } from '../store/analysis';
import type { Doc } from '../store/document';
import { findGroup, memberIds, replaceHead as replaceHeadEdit, setAllCollapsed, setGroupCollapsed, setGroupTrainable, setTrainable, type HeadSpec } from '../store/groups';
import { trainingStore } from '../training/runsStore';
import { taskOf } from '../training/taskMetrics';
import { register } from './register';
import { commitWithLayout } from './relayout';

/** Collapses an open group or expands a collapsed one, then lays the graph out again (one undo step). */
export const toggleGroup = register<{ groupId: string; collapsed?: boolean }>({
  name: 'toggleGroup',
  label: 'Collapse / expand group',
  perform: async (ctx, { groupId, collapsed }) => {
    const g = findGroup(ctx.graph.getState().doc, groupId);
    if (!g) throw new Error(`no group '${groupId}' in this model`);
    const collapse = collapsed ?? !g.collapsed;
    const edit = (doc: Doc) => {
      const next = setGroupCollapsed(doc, groupId, collapse);
      return next === doc ? null : next;
    };
    await commitWithLayout(ctx, edit, `${collapse ? 'Collapse' : 'Expand'} ${g.name}`);
  },
});

/** Collapses (or expands) every top-level group, laid out again. */
export const collapseAllGroups = register<{ collapsed: boolean } | undefined>({
  name: 'collapseAllGroups',
  label: 'Collapse all groups',
  enabled: ({ graph }) => (graph.getState().doc.groups?.length ?? 0) > 0,
  perform: async (ctx, arg) => {
    const collapse = arg?.collapsed ?? true;
    const edit = (doc: Doc) => {
      const next = setAllCollapsed(doc, collapse);
      return next === doc ? null : next;
    };
    await commitWithLayout(ctx, edit, collapse ? 'Collapse all groups' : 'Expand all groups');
  },
});

export const freezeGroup = register<{ groupId: string; frozen: boolean }>({
  name: 'freezeGroup',
  label: 'Freeze group',
  perform: ({ graph, ui }, { groupId, frozen }) => {
    const s = graph.getState();
    const g = findGroup(s.doc, groupId);
    if (!g) throw new Error(`no group '${groupId}' in this model`);
    s.commit(setGroupTrainable(s.doc, groupId, !frozen), `${frozen ? 'Freeze' : 'Unfreeze'} ${g.name}`);
    const n = memberIds(s.doc, groupId).length;
    ui.getState().notify('info', `${g.name}: ${n} layer${n === 1 ? '' : 's'} ${frozen ? 'frozen (their weights stay as they are while training)' : 'trainable again'}.`);
  },
});

export const setNodeTrainable = register<{ nodeId: string; trainable: boolean }>({
  name: 'setNodeTrainable',
  label: 'Trainable',
  perform: ({ graph }, { nodeId, trainable }) => {
    const s = graph.getState();
    const node = s.doc.nodes.find((n) => n.id === nodeId);
    if (!node) throw new Error(`no node '${nodeId}' in this model`);
    s.commit(setTrainable(s.doc, [nodeId], trainable), `${trainable ? 'Unfreeze' : 'Freeze'} ${node.name}`);
  },
});

/** The new head's last layer for the project's dataset: its classes with softmax, one linear output for regression. */
export function headFor(ds: DatasetInfo | undefined, oldUnits: number | null): { head: HeadSpec; why: string } {
  if (ds) {
    const task = taskOf(ds);
    if (task.id === 'regression') return { head: { units: 1, activation: 'linear' }, why: `one output for ${ds.name}` };
    if (task.id === 'classification' && ds.classNames.length > 0) {
      const k = ds.classNames.length;
      return { head: { units: k, activation: 'softmax' }, why: `${k} classes of ${ds.name}` };
    }
  }
  const units = oldUnits ?? 2;
  return { head: { units, activation: 'softmax' }, why: ds ? `${units} outputs, as before (${ds.name} does not name classes)` : `${units} outputs, as the old head had: choose a dataset and fit the model to it` };
}

/**
 * Replaces what follows a node with a new classifier for the project's dataset and freezes the node and
 * everything before it (one undo step), saying what it removed and added.
 */
export const replaceHead = register<{ nodeId: string }>({
  name: 'replaceHead',
  label: 'Replace the head',
  perform: ({ graph, ui, view }, { nodeId }) => {
    const s = graph.getState();
    const node = s.doc.nodes.find((n) => n.id === nodeId);
    if (!node) throw new Error(`no node '${nodeId}' in this model`);
    setTimeout(() => view.fitView(), 0);
    const analysis = analyzeDoc(s.doc);
    const ds = trainingStore.getState().datasets.find((d) => d.id === s.meta.dataset);
    // Without a dataset, the new Dense keeps the old output's width.
    const outputs = s.doc.nodes.filter((n) => n.type === 'Dense' && !s.doc.edges.some((e) => e.source === n.id));
    const oldUnits = outputs.length === 1 && typeof outputs[0]!.params.units === 'number' ? (outputs[0]!.params.units as number) : null;
    const { head, why } = headFor(ds, oldUnits);
    const r = replaceHeadEdit(s.doc, nodeId, analysis.nodes[nodeId]?.shape ?? null, head);
    s.commit(r.doc, `Replace the head after ${node.name}`);
    s.select([r.added[r.added.length - 1]!]);
    const frozenParams = r.doc.nodes.filter((n) => n.trainable === false).reduce((a, n) => a + (analysis.nodes[n.id]?.params ?? 0), 0);
    const added = r.added.map((id) => {
      const n = r.doc.nodes.find((m) => m.id === id)!;
      return `${n.name} (${getLayer(n.type)?.label ?? n.type})`;
    });
    const removed = r.removed.length ? `removed ${r.removed.join(', ')}; ` : '';
    ui.getState().notify(
      'info',
      `Replaced the head after ${node.name}: ${removed}added ${added.join(' → ')} with ${why} (${String(head.activation as ParamValue)}); froze ${r.frozen} layer${r.frozen === 1 ? '' : 's'} (${formatCount(frozenParams)} params).`,
    );
  },
});
