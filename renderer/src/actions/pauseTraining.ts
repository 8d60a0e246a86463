import { training } from '../training/runsStore';
import { register } from './register';
import { activeRun } from './trainingState';

export const pauseTraining = register({
  name: 'pauseTraining',
  label: 'Pause training',
  enabled: () => activeRun()?.status === 'running',
  perform: async () => {
    const run = activeRun();
    if (run?.status === 'running') await training.control('pause', run.id);
  },
});
