import { defaultTrainingSettings } from '../../../shared/project';
import { graphFromDoc } from '../store/document';
import { sampleLimits, training, trainingStore } from '../training/runsStore';
import { register } from './register';
import { trainBlocker } from './trainingState';

/** Train ▸ Train: starts a run of the model on the project's dataset with its settings, as the panel's Train button does. */
export const train = register({
  name: 'train',
  label: 'Train',
  enabled: (ctx) => trainBlocker(ctx) === null,
  perform: async (ctx) => {
    await training.init();
    const why = trainBlocker(ctx);
    if (why) {
      ctx.ui.getState().notify('error', `Cannot train: ${why}.`);
      return;
    }
    const { doc, meta } = ctx.graph.getState();
    // The training panel shows the run's live view.
    ctx.ui.setState({ rightTab: 'train', inspectorOpen: true });
    await training.start({
      graph: graphFromDoc(doc),
      datasetId: meta.dataset!,
      settings: { ...defaultTrainingSettings(), ...meta.training },
      name: `${meta.name || 'Model'} · run ${trainingStore.getState().runs.length + 1}`,
      ...sampleLimits(trainingStore.getState().maxImages),
    });
  },
});
