import { training } from '../training/runsStore';
import { register } from './register';
import { activeRun } from './trainingState';

/** Stops the run in progress (it finishes its batch and keeps its weights), as the panel's Stop button does. */
export const stopTraining = register({
  name: 'stopTraining',
  label: 'Stop training',
  enabled: () => activeRun() !== undefined,
  perform: async () => {
    const run = activeRun();
    if (run) await training.control('stop', run.id);
  },
});
