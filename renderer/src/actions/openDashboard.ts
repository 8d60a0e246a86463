import { training, trainingStore } from '../training/runsStore';
import { register } from './register';
import { activeRun } from './trainingState';

/** The results dashboard of the run in progress, else of the latest run (the panel's Dashboard button). */
export const openDashboard = register({
  name: 'openDashboard',
  label: 'Training dashboard',
  enabled: ({ graph }) => graph.getState().screen === 'editor' && trainingStore.getState().runs.length > 0,
  perform: async ({ ui }) => {
    const run = activeRun() ?? trainingStore.getState().runs[0];
    if (!run) return;
    // The dashboard lives in the training panel: show it.
    ui.setState({ rightTab: 'train', inspectorOpen: true });
    await training.view(run.id);
  },
});
