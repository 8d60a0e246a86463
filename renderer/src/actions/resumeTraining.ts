import { training } from '../training/runsStore';
import { register } from './register';
import { activeRun } from './trainingState';

export const resumeTraining = register({
  name: 'resumeTraining',
  label: 'Resume training',
  enabled: () => activeRun()?.status === 'paused',
  perform: async () => {
    const run = activeRun();
    if (run?.status === 'paused') await training.control('resume', run.id);
  },
});
