import { training } from '../training/runsStore';
import { register } from './register';

/** File ▸ Import Dataset…: the training panel with its "Import from disk…" form open. */
export const importDataset = register({
  name: 'importDataset',
  label: 'Import dataset…',
  enabled: ({ graph }) => graph.getState().screen === 'editor',
  perform: ({ ui }) => {
    void training.init();
    ui.setState((s) => ({ rightTab: 'train', inspectorOpen: true, datasetImportRequest: s.datasetImportRequest + 1 }));
  },
});
