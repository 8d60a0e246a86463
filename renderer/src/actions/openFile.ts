/**
 * A file the desktop app was asked to open (command line, file manager, drop, Open Recent), already
 * classified by the main process (shared/shell/fileTypes.ts): a project opens, a model is imported as a
 * new project, a table opens the CSV import, image data is imported as the project's dataset, and anything
 * else gets a notice saying why and what to do instead.
 */
import type { DatasetInfo, ImportDatasetRequest } from '../../../shared/api';
import type { OpenTarget } from '../../../shared/api/shell';
import type { ProjectFile } from '../../../shared/project';
import { fileBaseName } from '../../../shared/shell/document';
import { getEngine } from '../api/client';
import { errorText, importedProject, openImported } from '../export/flows';
import { openFromEngine } from '../project/files';
import { training } from '../training/runsStore';
import { fitToDataset } from './fitToDataset';
import { guardUnsaved } from './projects';
import { register, type ActionContext } from './register';

export interface OpenFileDeps {
  importModel(path: string): Promise<ProjectFile>;
  /** Connects the training store (datasets) to the engine. */
  initTraining(): Promise<void>;
  importDataset(req: ImportDatasetRequest): Promise<DatasetInfo>;
  /** The project trains on this dataset now (and is fitted to it when it asks so). */
  useDataset(ctx: ActionContext, info: DatasetInfo): void;
}

const defaultDeps: OpenFileDeps = {
  // With weights, the project starts training from them (training.initialWeights).
  importModel: async (path) => importedProject(await getEngine().importModel({ path })),
  initTraining: () => training.init(),
  importDataset: (req) => training.importFrom(req),
  useDataset(ctx, info) {
    ctx.graph.getState().setMeta({ dataset: info.id });
    if (ctx.graph.getState().meta.fitToDataset && fitToDataset.enabled?.(ctx) !== false) void fitToDataset.perform(ctx, info);
  },
};

const needsProject = (ctx: ActionContext, what: string): boolean => {
  if (ctx.graph.getState().screen === 'editor') return true;
  ctx.ui.getState().notify('error', `${what} is a dataset: open or create a project first, then open it again (a dataset is chosen for a project).`);
  return false;
};

/** Does what opening `target` means; resolves when it is done (or refused with a notice). */
export async function openTarget(ctx: ActionContext, target: OpenTarget, deps: OpenFileDeps = defaultDeps): Promise<void> {
  const { path } = target;
  const name = fileBaseName(path);
  const notify = ctx.ui.getState().notify;
  switch (target.kind) {
    case 'project':
      guardUnsaved(ctx, 'open another project', () => void openFromEngine(ctx, { path }));
      return;
    case 'model': {
      let project: ProjectFile;
      try {
        project = await deps.importModel(path);
      } catch (error) {
        notify('error', `Could not import ${path}: ${errorText(error)}`);
        return;
      }
      guardUnsaved(ctx, 'open the imported model', () => void openImported(ctx, project, path));
      return;
    }
    case 'table':
      if (!needsProject(ctx, name)) return;
      await deps.initTraining();
      ctx.ui.setState({ dialog: { kind: 'importTable', path } });
      return;
    case 'images': {
      if (!needsProject(ctx, name)) return;
      await deps.initTraining();
      notify('info', `Importing ${name} as a dataset…`);
      try {
        const info = await deps.importDataset({ path });
        deps.useDataset(ctx, info);
        ctx.ui.setState({ rightTab: 'train', inspectorOpen: true });
        notify('info', `Imported ${info.name} (${info.trainSize.toLocaleString()} training and ${info.testSize.toLocaleString()} test samples): the project trains on it now.`);
      } catch (error) {
        notify('error', `Could not import ${path} as image data: ${errorText(error)}. For text, use Train ▸ Import from disk… with the kind of data it holds.`);
      }
      return;
    }
    case 'unsupported':
      notify('error', target.reason ?? `${name} is not something Layerforge can open.`);
      return;
  }
}

/** Dispatched by the desktop shell for each file to open (its argument is the classified file). */
export const openFile = register<OpenTarget>({
  name: 'openFile',
  label: 'Open file',
  perform: (ctx, target) => openTarget(ctx, target),
});
