/**
 * Project saving and opening through the engine API (the real Engine served over the in-process proxy,
 * so the request schemas are exercised too): confinement to the projects folder, file-name rules,
 * atomic saves with a backup, corrupt files never overwritten, native dialogs only where lent, and a
 * save through the API killed mid-write.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiError, createClient, ENGINE_NAMES, ENGINE_SPEC, inProcessPair, serveApi, type EngineApi } from '../../shared/api';
import { newProject, parseProjectText, serializeProject } from '../../shared/project';
import type { ProjectDialogs } from './projects/library';
import { Engine } from './service';
import type { DatasetsPort, TrainingPort } from './service/ports';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../..');
const root = mkdtempSync(join(tmpdir(), 'lf-projects-api-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const template = readFileSync(new URL('../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8');
const named = (name: string) => serializeProject({ ...parseProjectText(template), name });

const noDatasets: DatasetsPort = {
  list: async () => [],
  prepare: async () => {
    throw new Error('none');
  },
  importFrom: async () => {
    throw new Error('none');
  },
  preview: async () => {
    throw new Error('none');
  },
  load: async () => {
    throw new Error('none');
  },
};
const noTraining = {} as TrainingPort;

function setup(opts: { dialogs?: ProjectDialogs; dataDir?: string } = {}) {
  const dataDir = opts.dataDir ?? join(root, `data-${n++}`);
  mkdirSync(dataDir, { recursive: true });
  const engine = new Engine({ dataDir, datasets: noDatasets, training: noTraining, host: 'test', ...(opts.dialogs ? { projectDialogs: opts.dialogs } : {}) });
  const [c, s] = inProcessPair();
  serveApi(ENGINE_SPEC, engine, s);
  const client = createClient<EngineApi>(ENGINE_NAMES, c);
  return { client, dataDir, dir: join(dataDir, 'projects') };
}

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected the request to fail');
}

/** Every file under `dir`, recursively (to prove nothing was written elsewhere). */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('saveProject / openProject / listProjects', () => {
  it('saves by name into <data dir>/projects atomically, keeps the previous version as .bak, and opens it back', async () => {
    const { client, dir, dataDir } = setup();
    const info = await client.getInfo();
    expect(info.projectsDir).toBe(dir);
    expect(info.nativeDialogs).toBe(false);

    const first = await client.saveProject({ text: named('v1'), name: 'my-net.json' });
    expect(first).toMatchObject({ path: join(dir, 'my-net.json'), name: 'my-net.json', inFolder: true });
    expect(first.backup).toBeUndefined();
    expect(first.bytes).toBe(readFileSync(first.path).length);
    expect(parseProjectText(readFileSync(first.path, 'utf8')).name).toBe('v1');

    // Saving again under that name needs the overwrite flag (Save of the current file sends it).
    const exists = await apiError(client.saveProject({ text: named('v2'), name: 'my-net.json' }));
    expect(exists.code).toBe('failed');
    expect(exists.details).toMatchObject({ reason: 'exists', path: first.path });
    expect(parseProjectText(readFileSync(first.path, 'utf8')).name).toBe('v1');

    const second = await client.saveProject({ text: named('v2'), name: 'my-net.json', overwrite: true });
    expect(second.backup).toBe(`${first.path}.bak`);
    expect(parseProjectText(readFileSync(second.backup!, 'utf8')).name).toBe('v1');
    expect(parseProjectText(readFileSync(first.path, 'utf8')).name).toBe('v2');
    // No temporary file is left, and nothing was written outside the projects folder but the recent list.
    expect(readdirSync(dir).sort()).toEqual(['my-net.json', 'my-net.json.bak']);
    expect(tree(dataDir)).toEqual(['projects', 'projects/my-net.json', 'projects/my-net.json.bak', 'recent-projects.json']);

    // Save by the path the first save returned (what Ctrl+S sends) works too.
    await client.saveProject({ text: named('v3'), path: first.path, overwrite: true });

    const opened = await client.openProject({ name: 'my-net.json' });
    expect(opened).toMatchObject({ path: first.path, name: 'my-net.json', inFolder: true });
    expect(parseProjectText(opened.text)).toEqual(parseProjectText(named('v3')));
    expect((await client.openProject({ path: first.path })).text).toBe(opened.text);
  });

  it('lists the folder (newest first, .bak and temp files hidden, damaged files with the reason) and the recent projects', async () => {
    const { client, dir } = setup();
    await client.saveProject({ text: named('Alpha'), name: 'alpha.json' });
    await new Promise((r) => setTimeout(r, 20));
    await client.saveProject({ text: named('Beta'), name: 'beta.json' });
    await client.saveProject({ text: named('Beta 2'), name: 'beta.json', overwrite: true });
    writeFileSync(join(dir, 'broken.json'), '{"format": "layerforge-project", ');
    writeFileSync(join(dir, 'notes.txt'), 'not a project');
    writeFileSync(join(dir, '.beta.json.tmp-99999999-abcd'), 'half');
    const list = await client.listProjects();
    expect(list.dir).toBe(dir);
    expect(list.nativeDialogs).toBe(false);
    expect(list.projects.map((p) => p.name).sort()).toEqual(['alpha.json', 'beta.json', 'broken.json']);
    const beta = list.projects.find((p) => p.name === 'beta.json')!;
    expect(beta).toMatchObject({ title: 'Beta 2', nodes: parseProjectText(template).graph.nodes.length, hasBackup: true, inFolder: true });
    const broken = list.projects.find((p) => p.name === 'broken.json')!;
    expect(broken.title).toBeUndefined();
    expect(broken.error).toMatch(/JSON/);
    expect(list.recent.map((r) => r.name)).toEqual(['beta.json', 'alpha.json']);
  });

  it('refuses to overwrite a file that is not a readable project: names the file and the reason, bytes unchanged', async () => {
    const { client, dir } = setup();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'damaged.json');
    for (const junk of ['{"format": "layerforge-project", "version": 1, "graph": ', '', '\u0000\u0001binary', JSON.stringify({ some: 'other file' })]) {
      writeFileSync(file, junk);
      const e = await apiError(client.saveProject({ text: named('new'), name: 'damaged.json', overwrite: true }));
      expect(e.code).toBe('failed');
      expect(e.message).toContain(file);
      expect(e.message).toMatch(/was not overwritten: it is not a readable Layerforge project/);
      expect(e.details).toMatchObject({ reason: 'unreadable', path: file });
      expect(readFileSync(file, 'utf8')).toBe(junk);
      expect(readdirSync(dir)).toEqual(['damaged.json']);
    }
    // Opening it reports it too, and writes nothing.
    const open = await apiError(client.openProject({ name: 'damaged.json' }));
    expect(open.message).toContain(file);
    expect(open.details).toMatchObject({ reason: 'unreadable' });
  });

  it('opening a damaged file points at its readable backup', async () => {
    const { client, dir } = setup();
    await client.saveProject({ text: named('good'), name: 'x.json' });
    await client.saveProject({ text: named('good 2'), name: 'x.json', overwrite: true });
    writeFileSync(join(dir, 'x.json'), 'garbage');
    const e = await apiError(client.openProject({ name: 'x.json' }));
    expect(e.message).toMatch(/x\.json\.bak; open it instead/);
    expect(e.details).toMatchObject({ backup: join(dir, 'x.json.bak') });
    expect(readFileSync(join(dir, 'x.json'), 'utf8')).toBe('garbage');
  });

  it('refuses an invalid project with bad-request and writes nothing', async () => {
    const { client, dataDir } = setup();
    const bad = JSON.parse(template) as { graph: { nodes: { type: string }[] } };
    bad.graph.nodes[1]!.type = 'NoSuchLayer';
    for (const text of ['not json', JSON.stringify(bad), '{}']) {
      const e = await apiError(client.saveProject({ text, name: 'bad.json' }));
      expect(e.code).toBe('bad-request');
      expect(e.message).toMatch(/nothing was written to .*bad\.json/);
    }
    expect(tree(dataDir)).toEqual([]);
  });

  it('accepts only plain file names in the projects folder: separators, "..", dots, reserved names and long names are refused', async () => {
    const { client, dataDir } = setup();
    const names = [
      '../escape.json',
      '..\\escape.json',
      'sub/dir.json',
      '/etc/passwd.json',
      '.hidden.json',
      'a..b.json',
      'no-extension',
      'model.json.bak',
      'x.JSON.txt',
      'con.json',
      ' lead.json',
      'tab\there.json',
      'star*.json',
      `${'x'.repeat(116)}.json`,
      '.json',
      '',
    ];
    for (const name of names) {
      const e = await apiError(client.saveProject({ text: named('x'), name }));
      expect(e.code, name).toBe('bad-request');
      const o = await apiError(client.openProject({ name }));
      expect(o.code, name).toBe('bad-request');
    }
    // Longest allowed name works.
    await client.saveProject({ text: named('x'), name: `${'y'.repeat(115)}.json` });
    expect(tree(join(dataDir, 'projects'))).toEqual([`${'y'.repeat(115)}.json`]);
  });

  it('in serve mode (no dialogs) refuses paths outside the projects folder, traversal and links out of it', async () => {
    const { client, dir, dataDir } = setup();
    const outside = join(root, `outside-${n++}`);
    mkdirSync(outside);
    const victim = join(outside, 'victim.json');
    writeFileSync(victim, named('victim'));
    mkdirSync(dir, { recursive: true });
    for (const path of [victim, join(outside, 'new.json'), `${dir}/../escape.json`, `${dir}/sub/../../escape.json`, 'relative.json', join(dir, '.hidden.json')]) {
      const e = await apiError(client.saveProject({ text: named('evil'), path, overwrite: true }));
      expect(['failed', 'bad-request'], path).toContain(e.code);
      await apiError(client.openProject({ path }));
    }
    expect(parseProjectText(readFileSync(victim, 'utf8')).name).toBe('victim');
    expect(readdirSync(outside)).toEqual(['victim.json']);
    expect(existsSync(join(dataDir, 'escape.json'))).toBe(false);
    // A symbolic link inside the folder pointing out of it is neither followed for writing nor reading.
    symlinkSync(victim, join(dir, 'link.json'));
    const viaLink = await apiError(client.saveProject({ text: named('evil'), name: 'link.json', overwrite: true }));
    expect(viaLink.message).toMatch(/symbolic link/);
    await apiError(client.openProject({ name: 'link.json' }));
    expect(parseProjectText(readFileSync(victim, 'utf8')).name).toBe('victim');
    expect(lstatSync(join(dir, 'link.json')).isSymbolicLink()).toBe(true);
    expect((await client.listProjects()).projects.map((p) => p.name)).not.toContain('link.json');
    // Dialog requests are refused with a clear reason.
    expect((await apiError(client.saveProjectAs({ text: named('x') }))).message).toMatch(/only in the desktop app/);
    expect((await apiError(client.openProjectDialog())).message).toMatch(/only in the desktop app/);
  });

  it('a data dir reached through a symbolic link: the saved path stays the one in the folder, so Save by path keeps working', async () => {
    const real = join(root, `real-${n++}`);
    mkdirSync(real);
    const linked = join(root, `linked-${n++}`);
    symlinkSync(real, linked);
    const { client } = setup({ dataDir: linked });
    const first = await client.saveProject({ text: named('a'), name: 'n.json' });
    expect(first.path).toBe(join(linked, 'projects', 'n.json'));
    const second = await client.saveProject({ text: named('b'), path: first.path, overwrite: true });
    expect(second).toMatchObject({ path: first.path, inFolder: true, backup: `${first.path}.bak` });
    expect(parseProjectText(readFileSync(join(real, 'projects', 'n.json'), 'utf8')).name).toBe('b');
  });

  it('an I/O failure names the file and loses nothing', async () => {
    const blocker = join(root, `blocker-${n++}`);
    writeFileSync(blocker, 'a file, not a folder');
    const dialogs: ProjectDialogs = { chooseSavePath: async () => join(blocker, 'x.json'), chooseOpenPath: async () => null };
    const { client } = setup({ dialogs });
    const e = await apiError(client.saveProjectAs({ text: named('x') }));
    expect(e.code).toBe('failed');
    expect(e.message).toContain(join(blocker, 'x.json'));
    expect(e.message).toMatch(/could not save .*ENOTDIR/);
    expect(readFileSync(blocker, 'utf8')).toBe('a file, not a folder');
  });
});

describe('native dialogs (desktop app)', () => {
  it('chooseDataFile asks the desktop app for a CSV; serve mode says it has no native dialogs', async () => {
    const asked: string[][] = [];
    const dialogs: ProjectDialogs = { chooseSavePath: async () => null, chooseOpenPath: async () => null, chooseDataPath: async ({ extensions }) => (asked.push(extensions), '/home/u/t.csv') };
    expect(await setup({ dialogs }).client.chooseDataFile({ kind: 'table' })).toBe('/home/u/t.csv');
    expect(asked).toEqual([['csv', 'tsv', 'txt']]);
    const e = await apiError(setup().client.chooseDataFile({ kind: 'table' }));
    expect(e.message).toMatch(/native file dialogs exist only in the desktop app/);
  });

  it('Save As writes where the user chose; that path may then be saved and opened, also after a restart; others stay refused', async () => {
    const outside = join(root, `docs-${n++}`);
    mkdirSync(outside);
    let choice: string | null = join(outside, 'chosen');
    const seen: string[] = [];
    const dialogs: ProjectDialogs = {
      chooseSavePath: async ({ defaultPath }) => {
        seen.push(defaultPath);
        return choice;
      },
      chooseOpenPath: async () => choice,
    };
    const { client, dataDir, dir } = setup({ dialogs });
    expect((await client.getInfo()).nativeDialogs).toBe(true);
    // A bare name from the dialog is taken as is; the Electron adapter adds .json (main/projectDialogs.test.ts).
    choice = join(outside, 'chosen.json');
    const saved = await client.saveProjectAs({ text: named('mine'), suggestedName: 'mine.json' });
    expect(seen).toEqual([join(dir, 'mine.json')]);
    expect(saved).toMatchObject({ path: choice, inFolder: false });
    await client.saveProject({ text: named('mine 2'), path: choice, overwrite: true });
    expect(parseProjectText(readFileSync(`${choice}.bak`, 'utf8')).name).toBe('mine');
    // A path never chosen in a dialog is refused, even in the desktop app.
    const other = join(outside, 'other.json');
    expect((await apiError(client.saveProject({ text: named('x'), path: other, overwrite: true }))).details).toMatchObject({ reason: 'outside' });
    expect(existsSync(other)).toBe(false);
    // Cancelled dialogs answer null.
    const chosen = choice;
    choice = null;
    expect(await client.saveProjectAs({ text: named('x') })).toBeNull();
    expect(await client.openProjectDialog()).toBeNull();

    // After a restart, the recent file may be opened and saved again (it was chosen by the user) …
    const again = setup({ dialogs, dataDir });
    const list = await again.client.listProjects();
    expect(list.recent.map((r) => r.path)).toEqual([chosen]);
    expect(parseProjectText((await again.client.openProject({ path: chosen })).text).name).toBe('mine 2');
    // … but serve mode on the same data dir neither lists nor reaches it.
    const serve = setup({ dataDir });
    expect((await serve.client.listProjects()).recent).toEqual([]);
    expect((await apiError(serve.client.openProject({ path: chosen }))).details).toMatchObject({ reason: 'outside' });

    // Open dialog: the chosen file opens and is granted.
    writeFileSync(other, named('other'));
    choice = other;
    expect(parseProjectText((await again.client.openProjectDialog())!.text).name).toBe('other');
    await again.client.saveProject({ text: named('other 2'), path: other, overwrite: true });
    expect(parseProjectText(readFileSync(other, 'utf8')).name).toBe('other 2');
  });
});

describe('autosave recovery through the API', () => {
  it('keeps autosaves under <data dir>/recovery across an engine restart, newest first, until discarded', async () => {
    const { client, dataDir } = setup();
    await client.saveRecovery({ key: 'tab-a', text: named('first'), sourcePath: null });
    await new Promise((r) => setTimeout(r, 10));
    await client.saveRecovery({ key: 'tab-b', text: named('second'), sourcePath: join(dataDir, 'projects', 'x.json') });
    await client.saveRecovery({ key: 'tab-a', text: named('first, later'), sourcePath: null });
    expect(readdirSync(join(dataDir, 'recovery')).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // A new engine on the same data dir (the app was killed and started again) finds them.
    const again = setup({ dataDir });
    const list = await again.client.listRecovery();
    expect(list.unreadable).toEqual([]);
    expect(list.items.map((i) => [i.key, i.name])).toEqual([
      ['tab-a', 'first, later'],
      ['tab-b', 'second'],
    ]);
    expect(list.items[1]!.sourcePath).toBe(join(dataDir, 'projects', 'x.json'));
    expect(parseProjectText(list.items[0]!.text).graph).toEqual(parseProjectText(template).graph);
    await again.client.discardRecovery({ key: 'tab-a' });
    expect((await again.client.listRecovery()).items.map((i) => i.key)).toEqual(['tab-b']);
  });

  it('refuses bad keys and invalid projects, and reports a damaged autosave without removing it', async () => {
    const { client, dataDir } = setup();
    for (const key of ['../x', 'a/b', '', 'x'.repeat(201)]) expect((await apiError(client.saveRecovery({ key, text: named('x') }))).code).toBe('bad-request');
    expect((await apiError(client.saveRecovery({ key: 'tab-x', text: '{}' }))).code).toBe('bad-request');
    expect(existsSync(join(dataDir, 'recovery'))).toBe(false);
    await client.saveRecovery({ key: 'tab-ok', text: named('ok') });
    const [file] = readdirSync(join(dataDir, 'recovery'));
    writeFileSync(join(dataDir, 'recovery', file!), 'garbage');
    const list = await client.listRecovery();
    expect(list.items).toEqual([]);
    expect(list.unreadable).toHaveLength(1);
    expect(existsSync(join(dataDir, 'recovery', file!))).toBe(true);
  });
});

describe('crash safety through the API', () => {
  it('a save through saveProject killed (SIGKILL) mid-write leaves the old project intact', { timeout: 90_000 }, async () => {
    const { client, dir, dataDir } = setup();
    const original = serializeProject({ ...newProject('original'), graph: parseProjectText(template).graph });
    await client.saveProject({ text: original, name: 'big.json' });
    const file = join(dir, 'big.json');
    let saves = 0;
    const seen = new Set<string>();
    for (const delay of [0, 60, 250, 500]) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'projects', 'testing', 'saveLoop.ts'), 'big.json', '3000', dataDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, signal) => res(signal)));
      await new Promise<void>((res, rej) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('start\n')) res();
        });
        child.on('exit', () => rej(new Error(`save loop exited early: ${err}`)));
      });
      await new Promise((r) => setTimeout(r, delay + Math.floor(Math.random() * 20)));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      saves += (out.match(/saved \d+/g) ?? []).length;
      const opened = parseProjectText((await client.openProject({ name: 'big.json' })).text);
      seen.add(opened.name);
      expect(['original', 'loop-a', 'loop-b']).toContain(opened.name);
      if (opened.name !== 'original') expect(opened.graph.nodes).toHaveLength(3000);
    }
    console.log(`[crash-save via API] 4 SIGKILLs, ${saves} saves completed before them; file afterwards: ${[...seen].join(', ')}; intact every time`);
    // The list never shows a temporary file, and the next save cleans them.
    expect((await client.listProjects()).projects.map((p) => p.name)).toEqual(['big.json']);
    await client.saveProject({ text: original, name: 'big.json', overwrite: true });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(existsSync(file)).toBe(true);
  });
});
