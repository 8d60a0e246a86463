/** The actions the desktop menus added (Train, panels, Find layer, Reset zoom, Import dataset, opening files from the OS). */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import type { DatasetInfo, RunSummary } from '../../../shared/api';
import { newProject, parseProjectText, serializeProject } from '../../../shared/project';
import { createGraphStore } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { FAKE_DIR, fakeProjectIO } from '../project/testing';
import { sampleLimits, training, trainingStore } from '../training/runsStore';
import { dispatch, getAction, handleKeyDown, type ActionContext } from './index';
import { openTarget, type OpenFileDeps } from './openFile';

const templateText = readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8');

const cifar: DatasetInfo = {
  id: 'cifar10', name: 'CIFAR-10', inputShape: [32, 32, 3], classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  trainSize: 50000, testSize: 10000, license: '', homepage: '', status: 'ready', downloadable: true,
};
const run = (id: string, status: RunSummary['status']) => ({ id, status, name: id }) as RunSummary;

function setup(open = true) {
  const graph = createGraphStore();
  if (open) graph.getState().loadProject(parseProjectText(templateText), null);
  const view = { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), resetZoom: vi.fn(), centre: () => ({ x: 0, y: 0 }) };
  const io = fakeProjectIO();
  const ctx: ActionContext = { graph, ui: uiStore, view, io };
  uiStore.setState({ dialog: null, notice: null, rightTab: 'inspect', paletteOpen: true, inspectorOpen: true, datasetImportRequest: 0 });
  trainingStore.setState({ datasets: [cifar], runs: [], busy: false, connection: 'open', dashboardOpen: false });
  return { ctx, graph, view, io };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  vi.restoreAllMocks();
  // The training store's engine calls, as the panel's buttons make them.
  vi.spyOn(training, 'init').mockResolvedValue();
  vi.spyOn(training, 'start').mockResolvedValue(null);
  vi.spyOn(training, 'control').mockResolvedValue();
  vi.spyOn(training, 'view').mockResolvedValue();
});

describe('Train menu actions (the training panel’s buttons)', () => {
  it('Train starts a run of the model on the project’s dataset with its settings, and shows the training panel', async () => {
    const { ctx } = setup();
    expect(getAction('train').enabled!(ctx)).toBe(true);
    dispatch('train', undefined, ctx);
    await flush();
    expect(training.start).toHaveBeenCalledTimes(1);
    const req = vi.mocked(training.start).mock.calls[0]![0];
    expect(req).toMatchObject({ datasetId: 'cifar10', name: 'CIFAR-10 CNN · run 1', settings: { epochs: 10, batchSize: 64, optimizer: 'adam' } });
    expect(req.graph.nodes).toHaveLength(8);
    expect(req.maxTrainSamples).toBeUndefined();
    expect(uiStore.getState().rightTab).toBe('train');
  });

  it('Train uses the panel’s "max images" limit, as the panel’s button does', async () => {
    const { ctx } = setup();
    trainingStore.setState({ maxImages: '5000' });
    try {
      dispatch('train', undefined, ctx);
      await flush();
      expect(vi.mocked(training.start).mock.calls[0]![0]).toMatchObject({ maxTrainSamples: 5000 });
      expect(vi.mocked(training.start).mock.calls[0]![0]).not.toHaveProperty('maxTestSamples'); // results on the whole test split (#19)
    } finally {
      trainingStore.setState({ maxImages: '' });
    }
    expect(sampleLimits('')).toEqual({});
    expect(sampleLimits('abc')).toEqual({});
    expect(sampleLimits('-3')).toEqual({});
    expect(sampleLimits('200')).toEqual({ maxTrainSamples: 200 });
  });

  it('Train is greyed out when the panel’s Train button is: no dataset, not ready, a run in progress, a broken model, no project', () => {
    const { ctx, graph } = setup();
    trainingStore.setState({ datasets: [{ ...cifar, status: 'missing' }] });
    expect(getAction('train').enabled!(ctx)).toBe(false);
    trainingStore.setState({ datasets: [cifar], runs: [run('r1', 'running')] });
    expect(getAction('train').enabled!(ctx)).toBe(false);
    trainingStore.setState({ runs: [] });
    graph.getState().select(['flat']);
    dispatch('deleteSelection', undefined, ctx);
    expect(getAction('train').enabled!(ctx)).toBe(false);
    graph.getState().undo();
    expect(getAction('train').enabled!(ctx)).toBe(true);
    graph.getState().setMeta({ dataset: null });
    expect(getAction('train').enabled!(ctx)).toBe(false);
    graph.getState().closeProject();
    expect(getAction('train').enabled!(ctx)).toBe(false);
  });

  it('Pause, Resume and Stop act on the run in progress; Dashboard opens the latest run', async () => {
    const { ctx } = setup();
    for (const n of ['pauseTraining', 'resumeTraining', 'stopTraining', 'openDashboard']) expect(getAction(n).enabled!(ctx), n).toBe(false);
    trainingStore.setState({ runs: [run('r2', 'running'), run('r1', 'completed')] });
    expect(getAction('pauseTraining').enabled!(ctx)).toBe(true);
    expect(getAction('resumeTraining').enabled!(ctx)).toBe(false);
    dispatch('pauseTraining', undefined, ctx);
    dispatch('stopTraining', undefined, ctx);
    trainingStore.setState({ runs: [run('r2', 'paused'), run('r1', 'completed')] });
    dispatch('resumeTraining', undefined, ctx);
    await flush();
    expect(vi.mocked(training.control).mock.calls).toEqual([
      ['pause', 'r2'],
      ['stop', 'r2'],
      ['resume', 'r2'],
    ]);
    trainingStore.setState({ runs: [run('r1', 'completed')] });
    dispatch('openDashboard', undefined, ctx);
    await flush();
    expect(training.view).toHaveBeenCalledWith('r1');
    expect(uiStore.getState().rightTab).toBe('train');
  });
});

describe('View and Edit menu actions', () => {
  it('palette and inspector toggle, with their check marks', () => {
    const { ctx } = setup();
    dispatch('togglePalette', undefined, ctx);
    expect(uiStore.getState().paletteOpen).toBe(false);
    expect(getAction('togglePalette').checked!(ctx)).toBe(false);
    dispatch('toggleInspector', undefined, ctx);
    dispatch('toggleInspector', undefined, ctx);
    expect(getAction('toggleInspector').checked!(ctx)).toBe(true);
  });

  it('Reset zoom asks the canvas for 100 %', () => {
    const { ctx, view } = setup();
    dispatch('zoomReset', undefined, ctx);
    expect(view.resetZoom).toHaveBeenCalled();
  });

  it('Find layer (Ctrl+F) opens the finder over the graph’s nodes', () => {
    const { ctx } = setup();
    uiStore.setState({ dialog: null });
    const e = { key: 'f', ctrlKey: true, metaKey: false, shiftKey: false, altKey: false, isComposing: false, defaultPrevented: false, target: null, preventDefault() {} } as unknown as KeyboardEvent;
    expect(handleKeyDown(e, ctx)).toBe(true);
    expect(uiStore.getState().dialog).toEqual({ kind: 'findLayer' });
    uiStore.setState({ dialog: null });
    // F alone is still Fit.
    const f = { ...e, ctrlKey: false } as KeyboardEvent;
    handleKeyDown(f, ctx);
    expect(ctx.view.fitView).toHaveBeenCalled();
  });

  it('Import dataset opens the training panel’s import form', () => {
    const { ctx } = setup();
    dispatch('importDataset', undefined, ctx);
    expect(uiStore.getState()).toMatchObject({ rightTab: 'train', inspectorOpen: true, datasetImportRequest: 1 });
    expect(training.init).toHaveBeenCalled();
  });
});

describe('opening a file from the OS', () => {
  function deps(over: Partial<OpenFileDeps> = {}): OpenFileDeps {
    return {
      importModel: vi.fn(async () => newProject('Imported')),
      initTraining: vi.fn(async () => {}),
      importDataset: vi.fn(async () => ({ ...cifar, id: 'images:flowers', name: 'flowers', trainSize: 80, testSize: 20 })),
      useDataset: vi.fn(),
      ...over,
    };
  }

  it('a project opens (asking first when the open one has unsaved changes)', async () => {
    const { ctx, graph, io } = setup(false);
    io.disk.set('/home/u/net.layerforge', serializeProject(newProject('From disk')));
    await openTarget(ctx, { kind: 'project', path: '/home/u/net.layerforge' }, deps());
    await flush();
    expect(graph.getState()).toMatchObject({ screen: 'editor', fileName: '/home/u/net.layerforge' });
    expect(graph.getState().meta.name).toBe('From disk');
    graph.getState().select([]);
    graph.getState().setMeta({ name: 'changed' });
    io.disk.set(`${FAKE_DIR}/b.json`, serializeProject(newProject('B')));
    await openTarget(ctx, { kind: 'project', path: `${FAKE_DIR}/b.json` }, deps());
    expect(uiStore.getState().dialog).toMatchObject({ kind: 'discard', what: 'open another project' });
  });

  it('a model is imported as a new project; a failed import says why', async () => {
    const { ctx, graph } = setup(false);
    const d = deps();
    await openTarget(ctx, { kind: 'model', path: '/m/model.json' }, d);
    await vi.waitFor(() => expect(uiStore.getState().notice?.text).toMatch(/Imported Imported .* from \/m\/model\.json/), { timeout: 10_000 });
    expect(graph.getState().screen).toBe('editor');
    await openTarget(ctx, { kind: 'model', path: '/m/bad.json' }, deps({ importModel: async () => Promise.reject(new Error('Unknown layer FancyLayer')) }));
    expect(uiStore.getState().notice).toMatchObject({ kind: 'error', text: 'Could not import /m/bad.json: Unknown layer FancyLayer' });
  });

  it('a CSV opens the table import; image data is imported and becomes the project’s dataset; both need a project', async () => {
    const { ctx } = setup(false);
    const d = deps();
    await openTarget(ctx, { kind: 'table', path: '/d/houses.csv' }, d);
    expect(uiStore.getState().notice).toMatchObject({ kind: 'error', text: expect.stringMatching(/houses\.csv is a dataset: open or create a project first/) });
    expect(uiStore.getState().dialog).toBeNull();
    const open = setup();
    await openTarget(open.ctx, { kind: 'table', path: '/d/houses.csv' }, d);
    expect(uiStore.getState().dialog).toEqual({ kind: 'importTable', path: '/d/houses.csv' });
    expect(d.initTraining).toHaveBeenCalled();
    await openTarget(open.ctx, { kind: 'images', path: '/d/flowers' }, d);
    expect(d.importDataset).toHaveBeenCalledWith({ path: '/d/flowers' });
    expect(d.useDataset).toHaveBeenCalledWith(open.ctx, expect.objectContaining({ id: 'images:flowers' }));
    expect(uiStore.getState().notice?.text).toMatch(/Imported flowers \(80 training and 20 test samples\)/);
    await openTarget(open.ctx, { kind: 'images', path: '/d/texts' }, deps({ importDataset: async () => Promise.reject(new Error('no images found')) }));
    expect(uiStore.getState().notice).toMatchObject({ kind: 'error', text: expect.stringMatching(/Could not import \/d\/texts as image data: no images found\. For text/) });
  });

  it('what the app cannot open gets a notice with the reason', async () => {
    const { ctx } = setup(false);
    dispatch('openFile', { kind: 'unsupported', path: '/m/net.onnx', reason: 'net.onnx: ONNX models cannot be imported yet.' }, ctx);
    await flush();
    expect(uiStore.getState().notice).toMatchObject({ kind: 'error', text: 'net.onnx: ONNX models cannot be imported yet.' });
  });
});
