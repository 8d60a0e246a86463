import { describe, expect, it, vi } from 'vitest';
import type { App } from 'electron';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addRecentIfKnown, claimSingleInstance, createDocumentOpener, filesFromArgv, focusWindow, listenOpenFile, recentMenuItems, secondInstanceFiles } from './documents';
import { electronProjectDialogs } from './projectDialogs';
import { ProjectLibrary } from './engine/projects/library';
import { serializeProject, newProject } from '../shared/project';
import type { OpenTarget } from '../shared/shell/fileTypes';

/** A fake `app` with just what the documents module uses: events are recorded and can be emitted. */
function fakeApp(lock = true) {
  const handlers = new Map<string, (...args: unknown[]) => void>();
  const app = {
    requestSingleInstanceLock: vi.fn((_data?: Record<string, unknown>) => lock),
    quit: vi.fn(),
    on: vi.fn((event: string, fn: (...args: unknown[]) => void) => {
      handlers.set(event, fn);
      return app;
    }),
    addRecentDocument: vi.fn(),
  };
  const emit = (event: string, ...args: unknown[]) => handlers.get(event)!(...args);
  return { app: app as unknown as App & typeof app, emit };
}

function tree() {
  const dir = mkdtempSync(join(tmpdir(), 'lf-docs-'));
  const project = join(dir, 'net.layerforge');
  writeFileSync(project, serializeProject(newProject('Net')));
  const jsonProject = join(dir, 'old.json');
  writeFileSync(jsonProject, serializeProject(newProject('Old')));
  const namedModel = join(dir, 'cnn-topology.json');
  writeFileSync(namedModel, JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'Sequential' }, weightsManifest: [] }));
  const modelDir = join(dir, 'exported');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'model.json'), '{}');
  const images = join(dir, 'flowers');
  mkdirSync(join(images, 'roses'), { recursive: true });
  const csv = join(dir, 'houses.csv');
  writeFileSync(csv, 'a,b\n1,2\n');
  const h5 = join(dir, 'model.h5');
  writeFileSync(h5, 'HDF');
  const onnx = join(dir, 'net.onnx');
  writeFileSync(onnx, 'x');
  const txt = join(dir, 'notes.txt');
  writeFileSync(txt, 'x');
  return { dir, project, jsonProject, namedModel, modelDir, images, csv, h5, onnx, txt };
}

describe('files on the command line', () => {
  it('takes the files after the app (packaged: after the executable; development: after `electron <app dir>`)', () => {
    expect(filesFromArgv(['/opt/Layerforge/layerforge', '/home/u/net.layerforge'], { defaultApp: false, cwd: '/x' })).toEqual(['/home/u/net.layerforge']);
    expect(filesFromArgv(['/usr/bin/electron', '/work/app', 'net.layerforge'], { defaultApp: true, cwd: '/home/u' })).toEqual(['/home/u/net.layerforge']);
    // Chromium switches, URLs and empty arguments are not files.
    expect(filesFromArgv(['electron', '/app', '--no-sandbox', '--inspect=9229', '-v', 'layerforge://app/x', '', 'a/b.json'], { defaultApp: true, cwd: '/c' })).toEqual(['/c/a/b.json']);
    expect(filesFromArgv(['/opt/Layerforge/layerforge'], { defaultApp: false, cwd: '/' })).toEqual([]);
    // Linux file managers may pass file URLs (a .desktop file's %U).
    expect(filesFromArgv(['/opt/Layerforge/layerforge', 'file:///home/u/My%20Net.layerforge', 'file://other-host/x.layerforge'], { defaultApp: false, cwd: '/' })).toEqual(['/home/u/My Net.layerforge']);
  });

  it('a second launch hands over the files it was given (additionalData, else its argv against its own working directory)', () => {
    expect(secondInstanceFiles(['x', '--flag'], '/w', { files: ['/a/net.layerforge'] }, false)).toEqual(['/a/net.layerforge']);
    expect(secondInstanceFiles(['/opt/lf', 'rel/net.layerforge', '--allow-file-access-from-files'], '/home/u', undefined, false)).toEqual(['/home/u/rel/net.layerforge']);
    // Relative paths in additionalData are not trusted: argv is used.
    expect(secondInstanceFiles(['/opt/lf', '/b.json'], '/w', { files: ['rel.json'] }, false)).toEqual(['/b.json']);
  });
});

describe('single instance', () => {
  it('the first instance takes the lock; a second launch opens its file in the running app', () => {
    const { app, emit } = fakeApp(true);
    const onSecondInstance = vi.fn();
    expect(claimSingleInstance(app, { files: ['/a.layerforge'], defaultApp: false, onSecondInstance })).toBe(true);
    expect(app.requestSingleInstanceLock).toHaveBeenCalledWith({ files: ['/a.layerforge'] });
    expect(app.quit).not.toHaveBeenCalled();
    emit('second-instance', {}, ['/opt/lf', 'b.layerforge'], '/home/u', { files: ['/home/u/b.layerforge'] });
    expect(onSecondInstance).toHaveBeenCalledWith(['/home/u/b.layerforge']);
  });

  it('a second instance quits at once (its files went to the first)', () => {
    const { app } = fakeApp(false);
    expect(claimSingleInstance(app, { files: ['/a.layerforge'], defaultApp: false, onSecondInstance: vi.fn() })).toBe(false);
    expect(app.quit).toHaveBeenCalled();
    expect(app.on).not.toHaveBeenCalled();
  });

  it('brings the window to the front, restored if minimized', () => {
    const win = { isMinimized: () => true, restore: vi.fn(), show: vi.fn(), focus: vi.fn() };
    focusWindow(win);
    expect(win.restore).toHaveBeenCalled();
    expect(win.focus).toHaveBeenCalled();
    focusWindow(null);
  });
});

describe('opening files', () => {
  it('routes each kind of file to what the app can do with it', async () => {
    const t = tree();
    const delivered: OpenTarget[] = [];
    const vouch = vi.fn();
    const opener = createDocumentOpener({ vouch, deliver: (x) => delivered.push(x) });
    await opener.open([t.project, t.jsonProject, t.namedModel, join(t.modelDir, 'model.json'), t.modelDir, t.images, t.csv, t.h5, t.onnx, t.txt, join(t.dir, 'gone.layerforge')]);
    expect(delivered.map((d) => d.kind)).toEqual(['project', 'project', 'model', 'model', 'model', 'images', 'table', 'unsupported', 'unsupported', 'unsupported', 'unsupported']);
    // Only projects are vouched for (the engine opens a project only from a path the user chose).
    expect(vouch.mock.calls.map((c) => c[0])).toEqual([t.project, t.jsonProject]);
    const reasons = delivered.filter((d) => d.kind === 'unsupported').map((d) => d.reason);
    expect(reasons[0]).toMatch(/model\.h5: Keras HDF5 .*tensorflowjs_converter/);
    expect(reasons[1]).toMatch(/ONNX models cannot be imported yet/);
    expect(reasons[2]).toMatch(/notes\.txt is not something Layerforge opens/);
    expect(reasons[3]).toMatch(/does not exist/);
  });

  it('macOS open-file before the app is ready: taken (default prevented) and queued until the page is ready', async () => {
    const { app, emit } = fakeApp();
    const t = tree();
    // The shell's outbox holds deliveries until the page says it is ready; here a plain queue stands for it.
    const queue: OpenTarget[] = [];
    const opener = createDocumentOpener({ vouch: () => {}, deliver: (x) => queue.push(x) });
    const opened: Promise<unknown>[] = [];
    listenOpenFile(app, (paths) => opened.push(opener.open(paths)));
    const event = { preventDefault: vi.fn() };
    emit('open-file', event, t.project);
    expect(event.preventDefault).toHaveBeenCalled();
    await Promise.all(opened);
    expect(queue).toEqual([{ kind: 'project', path: t.project }]);
  });

  it('a project opened from the OS can then be opened (and saved) by the engine, which refuses paths nobody chose', async () => {
    const t = tree();
    const dataDir = mkdtempSync(join(tmpdir(), 'lf-docs-data-'));
    const dialogs = electronProjectDialogs({ showSaveDialog: vi.fn(), showOpenDialog: vi.fn() } as never, () => null);
    const library = new ProjectLibrary({ dataDir, dialogs });
    await expect(library.open({ path: t.project })).rejects.toThrow(/was not chosen/);
    const opener = createDocumentOpener({ vouch: (p) => dialogs.vouch(p), deliver: () => {} });
    await opener.open([t.project]);
    const opened = await library.open({ path: t.project });
    expect(opened.name).toBe('net.layerforge');
    await expect(library.save({ path: t.project, text: opened.text, overwrite: true })).resolves.toMatchObject({ path: t.project });
    await expect(library.open({ path: t.jsonProject })).rejects.toThrow(/was not chosen/);
  });
});

describe('recent projects', () => {
  it('the menu labels are the file names, with the folder where two share a name', () => {
    expect(
      recentMenuItems([
        { path: '/a/net.json', name: 'net.json' },
        { path: '/b/net.json', name: 'net.json' },
        { path: '/c/cnn.layerforge', name: 'cnn.layerforge' },
      ]),
    ).toEqual([
      { path: '/a/net.json', label: 'net.json — a' },
      { path: '/b/net.json', label: 'net.json — b' },
      { path: '/c/cnn.layerforge', label: 'cnn.layerforge' },
    ]);
  });

  it("the OS recent documents get a path only when the engine's recent list has it", () => {
    const { app } = fakeApp();
    expect(addRecentIfKnown(app, '/p/net.layerforge', [{ path: '/p/net.layerforge' }])).toBe(true);
    expect(app.addRecentDocument).toHaveBeenCalledWith('/p/net.layerforge');
    expect(addRecentIfKnown(app, '/etc/passwd', [{ path: '/p/net.layerforge' }])).toBe(false);
    expect(addRecentIfKnown(app, null, [])).toBe(false);
    expect(app.addRecentDocument).toHaveBeenCalledTimes(1);
  });

  it('the list is persisted (in the data folder), newest first, capped at 12, and lists files outside the projects folder', async () => {
    const t = tree();
    const dataDir = mkdtempSync(join(tmpdir(), 'lf-docs-recent-'));
    const dialogs = electronProjectDialogs({ showSaveDialog: vi.fn(), showOpenDialog: vi.fn() } as never, () => null);
    const lib = new ProjectLibrary({ dataDir, dialogs });
    const files = Array.from({ length: 14 }, (_, i) => join(t.dir, `p${i}.layerforge`));
    for (const f of files) {
      writeFileSync(f, serializeProject(newProject('P')));
      dialogs.vouch(f);
      await lib.open({ path: f });
    }
    // A new library (the next start) reads the same list from the disk.
    const again = new ProjectLibrary({ dataDir, dialogs: electronProjectDialogs({ showSaveDialog: vi.fn(), showOpenDialog: vi.fn() } as never, () => null) });
    const recent = (await again.list()).recent;
    expect(recent.map((r) => r.path)).toEqual(files.slice(2).reverse());
    expect(recentMenuItems(recent)[0]).toEqual({ path: files[13], label: 'p13.layerforge' });
  });
});
