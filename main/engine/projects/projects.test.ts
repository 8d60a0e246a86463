import { spawn } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { newProject, parseProjectText, ProjectFileError, serializeProject, type ProjectFile } from '../../../shared/project';
import { clearRecovery, listRecovery, loadProjectFile, MAX_PROJECT_BYTES, ProjectLoadError, ProjectSaveError, readRecovery, recoveryFile, saveProjectFile, writeRecovery } from './index';
import { bigProject } from './testing/saveLoop';

const root = mkdtempSync(join(tmpdir(), 'lf-projects-'));
let dir: string;
let n = 0;
beforeEach(() => {
  dir = join(root, `case-${n++}`);
  mkdirSync(dir);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../../..');

function small(name: string): ProjectFile {
  return newProject(name, {
    nodes: [
      { id: 'a', type: 'Input', name: 'input_1', params: { kind: 'image', height: 8, width: 8, channels: 1 }, position: { x: 0, y: 0 } },
      { id: 'b', type: 'Flatten', name: 'flatten_1', params: {}, position: { x: 0, y: 100 } },
    ],
    edges: [{ id: 'e', source: 'a', target: 'b', targetPort: 0 }],
  });
}

const tempsIn = (d: string) => readdirSync(d).filter((f) => f.includes('.tmp-'));

describe('saveProjectFile / loadProjectFile', () => {
  it('saves atomically, loads back the same project and leaves no temporary file', async () => {
    const file = join(dir, 'model.lfproj');
    const p = small('first');
    const r = await saveProjectFile(file, p);
    expect(r.path).toBe(file);
    expect(r.backup).toBeUndefined();
    expect(r.preserved).toBeUndefined();
    expect(await loadProjectFile(file)).toEqual(parseProjectText(serializeProject(p)));
    expect(readdirSync(dir)).toEqual(['model.lfproj']);
  });

  it('a backup that is still a hard link of the project (a save killed after linking it) leaves no temporary file on the next save', async () => {
    // A save killed between linking <name>.bak to the project and renaming the new content over the
    // project leaves both names on one file; rename(2) of a link onto another link of the same file
    // does nothing, so the backup's temporary link used to survive every later save.
    const file = join(dir, 'model.lfproj');
    await saveProjectFile(file, small('v1'));
    linkSync(file, `${file}.bak`);
    await saveProjectFile(file, small('v2'));
    expect(tempsIn(dir)).toEqual([]);
    expect(parseProjectText(readFileSync(`${file}.bak`, 'utf8')).name).toBe('v1');
    expect((await loadProjectFile(file)).name).toBe('v2');
  });

  it('keeps the previous version as <name>.bak and the file mode', async () => {
    const file = join(dir, 'model.lfproj');
    await saveProjectFile(file, small('v1'));
    chmodSync(file, 0o600);
    const r = await saveProjectFile(file, small('v2'));
    expect(r.backup).toBe(`${file}.bak`);
    expect((await loadProjectFile(file)).name).toBe('v2');
    expect((await loadProjectFile(`${file}.bak`)).name).toBe('v1');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await saveProjectFile(file, small('v3'));
    expect((await loadProjectFile(`${file}.bak`)).name).toBe('v2');
    expect(tempsIn(dir)).toEqual([]);
  });

  it('refuses to write an invalid project and leaves the file as it was', async () => {
    const file = join(dir, 'model.lfproj');
    await saveProjectFile(file, small('good'));
    const before = readFileSync(file);
    const bad = small('bad');
    bad.graph.nodes[0]!.position.x = Number.NaN; // JSON null: not a number
    await expect(saveProjectFile(file, bad)).rejects.toBeInstanceOf(ProjectFileError);
    const unknown = small('bad');
    unknown.graph.nodes[1]!.type = 'NoSuchLayer';
    await expect(saveProjectFile(file, unknown)).rejects.toThrow(/unknown layer type 'NoSuchLayer'/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(tempsIn(dir)).toEqual([]);
  });

  it('follows a symlink and replaces the real file, not the link', async () => {
    const real = join(dir, 'real.lfproj');
    const linkPath = join(dir, 'link.lfproj');
    await saveProjectFile(real, small('v1'));
    symlinkSync(real, linkPath);
    await saveProjectFile(linkPath, small('v2'));
    expect((await loadProjectFile(real)).name).toBe('v2');
    expect((await loadProjectFile(`${real}.bak`)).name).toBe('v1');
  });

  it('refuses a folder as the target', async () => {
    mkdirSync(join(dir, 'folder.lfproj'));
    await expect(saveProjectFile(join(dir, 'folder.lfproj'), small('x'))).rejects.toThrow(/is not a file/);
    await expect(loadProjectFile(join(dir, 'folder.lfproj'))).rejects.toThrow(/is not a file/);
    await expect(loadProjectFile(join(dir, 'missing.lfproj'))).rejects.toThrow(/does not exist/);
  });

  const corruptions: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /is empty/],
    ['truncated JSON', Buffer.from(serializeProject(small('x')).slice(0, 150)), /not valid JSON/],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x81, 0xc3, 0x28, 0x9f]), /not UTF-8/],
    ['NUL bytes', Buffer.alloc(4096), /not valid JSON/],
    ['another JSON document', Buffer.from('{"hello": "world"}'), /"format" must be "layerforge-project"/],
    ['a newer format', Buffer.from(JSON.stringify({ ...small('x'), version: 99 })), /newer Layerforge/],
    ['a bad node', Buffer.from(JSON.stringify({ ...small('x'), graph: { nodes: [{ id: 'a', type: 'Dense', name: 'd' }, { id: 'a', type: 'Dense', name: 'e' }], edges: [] } })), /two nodes share the id 'a'/],
  ];
  for (const [what, bytes, message] of corruptions) {
    it(`reports a corrupt file (${what}) clearly and leaves it byte-identical`, async () => {
      const file = join(dir, 'broken.lfproj');
      writeFileSync(file, bytes);
      const before = statSync(file);
      const error = await loadProjectFile(file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProjectLoadError);
      expect(error).toBeInstanceOf(ProjectFileError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toMatch(/left unchanged/);
      expect(readFileSync(file).equals(bytes)).toBe(true);
      expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
      expect(readdirSync(dir)).toEqual(['broken.lfproj']);
    });
  }

  it('points at a readable backup when the file is corrupt', async () => {
    const file = join(dir, 'model.lfproj');
    await saveProjectFile(file, small('v1'));
    await saveProjectFile(file, small('v2'));
    writeFileSync(file, '{"format": "layerforge-proj');
    const error = (await loadProjectFile(file).catch((e: unknown) => e)) as ProjectLoadError;
    expect(error).toBeInstanceOf(ProjectLoadError);
    expect(error.backup).toBe(`${file}.bak`);
    expect(error.message).toContain('model.lfproj.bak');
    expect((await loadProjectFile(error.backup!)).name).toBe('v1');
  });

  it('refuses a file over the size limit without reading it', async () => {
    const file = join(dir, 'huge.lfproj');
    writeFileSync(file, '');
    truncateSync(file, MAX_PROJECT_BYTES + 1); // sparse
    await expect(loadProjectFile(file)).rejects.toThrow(/project files are at most/);
  });

  it('refuses to save over a corrupt file: reported with the file and the reason, bytes and .bak untouched', async () => {
    const file = join(dir, 'model.lfproj');
    await saveProjectFile(file, small('v1'));
    await saveProjectFile(file, small('v2'));
    const junk = Buffer.from('definitely not json');
    writeFileSync(file, junk);
    const error = await saveProjectFile(file, small('v3')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProjectSaveError);
    expect((error as ProjectSaveError).reason).toBe('unreadable');
    expect((error as ProjectSaveError).message).toContain(file);
    expect((error as ProjectSaveError).message).toMatch(/not overwritten: it is not a readable Layerforge project \(.*JSON/);
    expect(readFileSync(file).equals(junk)).toBe(true);
    expect((await loadProjectFile(`${file}.bak`)).name).toBe('v1');
    expect(readdirSync(dir).sort()).toEqual(['model.lfproj', 'model.lfproj.bak']);
    // An empty file and a file of another kind are refused too.
    for (const other of [Buffer.alloc(0), Buffer.from(JSON.stringify({ hello: 'world' }))]) {
      writeFileSync(file, other);
      await expect(saveProjectFile(file, small('v3'))).rejects.toThrow(/was not overwritten/);
      expect(readFileSync(file).equals(other)).toBe(true);
    }
  });

  it("with ifUnreadable: 'preserve', saving over a corrupt file keeps its bytes aside and leaves the good .bak alone", async () => {
    const file = join(dir, 'model.lfproj');
    await saveProjectFile(file, small('v1'));
    await saveProjectFile(file, small('v2'));
    const junk = Buffer.from('definitely not json');
    writeFileSync(file, junk);
    const r = await saveProjectFile(file, small('v3'), { ifUnreadable: 'preserve' });
    expect(r.backup).toBeUndefined();
    expect(r.preserved).toMatch(/model\.lfproj\.unreadable-/);
    expect(readFileSync(r.preserved!).equals(junk)).toBe(true);
    expect((await loadProjectFile(`${file}.bak`)).name).toBe('v1');
    expect((await loadProjectFile(file)).name).toBe('v3');
  });

  it('survives being killed (SIGKILL) at random moments while saving a big project', { timeout: 120_000 }, async () => {
    const file = join(dir, 'big.lfproj');
    const original = bigProject('original', 4000);
    await saveProjectFile(file, original);
    const delays = [0, 30, 90, 200, 400, 700];
    const midWriteTemps = new Set<string>();
    let savesBeforeKill = 0;
    for (const delay of delays) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'testing', 'saveLoop.ts'), file, '4000'], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
      await new Promise<void>((res, rej) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('start\n')) res();
        });
        child.on('exit', () => rej(new Error(`save loop exited early: ${err}`)));
      });
      // A little random jitter on top of the fixed delay, so the kill lands in different phases.
      await new Promise((r) => setTimeout(r, delay + Math.floor(Math.random() * 20)));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      savesBeforeKill += (out.match(/saved \d+/g) ?? []).length;
      for (const t of tempsIn(dir)) midWriteTemps.add(t);
      // The target is always a complete project: the original or one of the loop's versions.
      const loaded = await loadProjectFile(file);
      expect(['original', 'loop-a', 'loop-b']).toContain(loaded.name);
      expect(loaded.graph.nodes).toHaveLength(4000);
      if (existsSync(`${file}.bak`)) expect((await loadProjectFile(`${file}.bak`)).graph.nodes).toHaveLength(4000);
    }
    console.log(`[crash-save] ${delays.length} SIGKILLs during save loops (${savesBeforeKill} saves completed in all); ${midWriteTemps.size} temp files left behind (killed between write and rename); target intact every time`);
    // The next save clears the temp files of the dead writers.
    await saveProjectFile(file, small('after'));
    expect(tempsIn(dir)).toEqual([]);
    expect((await loadProjectFile(file)).name).toBe('after');
  });

  it('a temp file left by a crashed writer does not affect loading and is removed by the next save', async () => {
    const file = join(dir, 'model.lfproj');
    await saveProjectFile(file, small('v1'));
    // What a writer killed mid-write leaves: a partial temp file named for a process that is gone.
    const deadPid = 2 ** 22 + 12345;
    const partial = join(dir, `.model.lfproj.tmp-${deadPid}-abcd1234`);
    writeFileSync(partial, serializeProject(small('half')).slice(0, 100));
    const partialBak = join(dir, `.model.lfproj.bak.tmp-${deadPid}-abcd1234`);
    writeFileSync(partialBak, 'x');
    const live = join(dir, `.model.lfproj.tmp-${process.pid}-live0000`);
    writeFileSync(live, 'a concurrent save of this process');
    expect((await loadProjectFile(file)).name).toBe('v1');
    await saveProjectFile(file, small('v2'));
    expect(existsSync(partial)).toBe(false);
    expect(existsSync(partialBak)).toBe(false);
    expect(existsSync(live)).toBe(true); // a live writer's temp is never touched
    expect((await loadProjectFile(file)).name).toBe('v2');
  });
});

describe('recovery (autosave)', () => {
  it('writes, reads, lists and clears an autosave under the data dir', async () => {
    const opts = { dir: join(dir, 'recovery') };
    expect(await readRecovery('/home/u/model.lfproj', opts)).toBeUndefined();
    const f1 = await writeRecovery('/home/u/model.lfproj', small('edited'), { ...opts, sourcePath: '/home/u/model.lfproj', now: new Date('2024-01-01T00:00:00Z') });
    await writeRecovery('untitled-1', small('scratch'), { ...opts, now: new Date('2024-01-02T00:00:00Z') });
    expect(f1).toBe(recoveryFile('/home/u/model.lfproj', opts));
    const r = await readRecovery('/home/u/model.lfproj', opts);
    expect(r).toMatchObject({ key: '/home/u/model.lfproj', sourcePath: '/home/u/model.lfproj', savedAt: '2024-01-01T00:00:00.000Z' });
    expect(r!.project.name).toBe('edited');
    const list = await listRecovery(opts);
    expect(list.entries.map((e) => e.key)).toEqual(['untitled-1', '/home/u/model.lfproj']);
    expect(list.entries[0]!.sourcePath).toBeNull();
    await clearRecovery('untitled-1', opts);
    expect(await readRecovery('untitled-1', opts)).toBeUndefined();
    expect((await listRecovery(opts)).entries).toHaveLength(1);
  });

  it('defaults to <LAYERFORGE_DATA_DIR>/recovery', async () => {
    const prev = process.env.LAYERFORGE_DATA_DIR;
    process.env.LAYERFORGE_DATA_DIR = join(dir, 'data');
    try {
      const f = await writeRecovery('k', small('x'));
      expect(f.startsWith(join(dir, 'data', 'recovery'))).toBe(true);
      expect((await readRecovery('k'))!.project.name).toBe('x');
    } finally {
      if (prev === undefined) delete process.env.LAYERFORGE_DATA_DIR;
      else process.env.LAYERFORGE_DATA_DIR = prev;
    }
  });

  it('reports a damaged autosave and leaves it in place', async () => {
    const opts = { dir: join(dir, 'recovery') };
    const file = await writeRecovery('doc', small('x'), opts);
    writeFileSync(file, '{"format":"layerforge-recovery","version":1,"key":"doc","savedAt":"t","sourcePath":null,"project":{}}');
    const bytes = readFileSync(file);
    await expect(readRecovery('doc', opts)).rejects.toBeInstanceOf(ProjectFileError);
    const list = await listRecovery(opts);
    expect(list.entries).toEqual([]);
    expect(list.unreadable).toHaveLength(1);
    expect(list.unreadable[0]!.reason).toMatch(/not a Layerforge project/);
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('an autosave survives the app being killed: a fresh process finds it', async () => {
    const opts = { dir: join(dir, 'recovery') };
    {
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'testing', 'autosaveChild.ts'), opts.dir, 'untitled-7', 'unsaved work'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      await new Promise<void>((res, rej) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('written') && res());
        child.on('exit', () => rej(new Error(`child exited early: ${err}`)));
      });
      child.kill('SIGKILL');
      const entry = await readRecovery('untitled-7', opts);
      expect(entry?.project.name).toBe('unsaved work');
    }
  });

  it('rejects an empty key', async () => {
    await expect(writeRecovery('', small('x'), { dir })).rejects.toThrow(/non-empty/);
  });
});
