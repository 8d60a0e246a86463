import type { DatasetInfo } from '../../../shared/api';
import { fitGraphToDataset, type DatasetShapeInfo } from '../../../shared/tasks';
import { graphFromDoc, type Doc, type DocNode } from '../store/document';
import { trainingStore } from '../training/runsStore';
import { register } from './register';

/** The document with its sizes fitted to a dataset (shared/tasks fitGraphToDataset): only the changed nodes are new objects. */
export function fitDoc(doc: Doc, ds: DatasetShapeInfo): { doc: Doc; changes: string[] } {
  const { graph, changes } = fitGraphToDataset(graphFromDoc(doc), ds);
  if (!changes.length) return { doc, changes };
  const fitted = new Map(graph.nodes.map((n) => [n.id, n.params]));
  const nodes = doc.nodes.map((n): DocNode => {
    const params = fitted.get(n.id);
    if (!params) return n;
    const keys = new Set([...Object.keys(n.params), ...Object.keys(params)]);
    return [...keys].some((k) => n.params[k] !== params[k]) ? { ...n, params } : n;
  });
  return { doc: { ...doc, nodes }, changes };
}

/**
 * Fits the Input's size and the output layer's units (and, for regression, its activation) to a dataset,
 * as one undoable edit, and says what changed. The argument is the dataset (default: the project's).
 */
export const fitToDataset = register<DatasetInfo | undefined>({
  name: 'fitToDataset',
  label: 'Fit model to dataset',
  enabled: ({ graph }) => graph.getState().doc.nodes.length > 0,
  perform: ({ graph, ui }, arg) => {
    const id = graph.getState().meta.dataset;
    const ds = arg ?? trainingStore.getState().datasets.find((d) => d.id === id);
    if (!ds) {
      ui.getState().notify('error', 'Choose a dataset first: the model is fitted to its input size and classes.');
      return;
    }
    const s = graph.getState();
    const { doc, changes } = fitDoc(s.doc, ds);
    if (!changes.length) {
      trainingStore.setState({ lastFit: null });
      ui.getState().notify('info', `The model already fits ${ds.name}.`);
      return;
    }
    s.commit(doc, 'Fit to dataset');
    trainingStore.setState({ lastFit: { datasetId: ds.id, datasetName: ds.name, changes, nodes: doc.nodes } });
    ui.getState().notify('info', `Fitted the model to ${ds.name}: ${changes.join('; ')}.`);
  },
});
