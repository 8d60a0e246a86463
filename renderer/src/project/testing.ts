/**
 * For renderer unit tests: a ProjectIO whose "engine" keeps project files in memory, with the engine's
 * rules that the UI relies on (an existing name needs `overwrite`; a file can be made to fail).
 */
import { ApiError, type OpenedProject, type ProjectList, type SavedProject } from '../../../shared/api';
import type { OpenedFile, ProjectIO } from './io';

export interface FakeProjectIO extends ProjectIO {
  /** path -> text of every saved file. */
  disk: Map<string, string>;
  /** key -> autosave. */
  recovery: Map<string, { text: string; sourcePath: string | null }>;
  /** Every save request, in order. */
  saves: { name?: string; path?: string; overwrite?: boolean; text: string }[];
  /** Paths whose saves fail (as the engine reports a damaged file). */
  failing: Set<string>;
  /** Lets a test hold a save open; resolves immediately when unset. */
  gate?: Promise<void>;
  /** Native dialogs: the path the Save As dialog returns (null: cancelled); undefined: no native dialogs. */
  dialogChoice?: string | null;
  /** What Import file returns. */
  upload: OpenedFile | null;
  downloads: { fileName: string; text: string }[];
}

export const FAKE_DIR = '/data/projects';

export function fakeProjectIO(): FakeProjectIO {
  const io: FakeProjectIO = {
    disk: new Map(),
    recovery: new Map(),
    saves: [],
    failing: new Set(),
    upload: null,
    downloads: [],
    nativeDialogs: async () => io.dialogChoice !== undefined,
    importFile: async () => io.upload,
    downloadFile: (fileName, text) => io.downloads.push({ fileName, text }),
    files: () => ({
      async listProjects(): Promise<ProjectList> {
        const entries = [...io.disk.keys()].map((path) => ({ name: path.split('/').pop()!, path, inFolder: path.startsWith(`${FAKE_DIR}/`), bytes: io.disk.get(path)!.length, modifiedAt: new Date(0).toISOString() }));
        return { dir: FAKE_DIR, projects: entries.filter((e) => e.inFolder), recent: entries, nativeDialogs: io.dialogChoice !== undefined };
      },
      async saveProject(req): Promise<SavedProject> {
        io.saves.push({ ...req });
        await io.gate;
        const path = req.path ?? `${FAKE_DIR}/${req.name}`;
        if (io.failing.has(path)) throw new ApiError('failed', `${path} was not overwritten: it is not a readable Layerforge project (bad JSON)`, { reason: 'unreadable', path });
        if (io.disk.has(path) && !req.overwrite) throw new ApiError('failed', `${path} already exists`, { reason: 'exists', path });
        const backup = io.disk.has(path) ? `${path}.bak` : undefined;
        io.disk.set(path, req.text);
        return { path, name: path.split('/').pop()!, inFolder: path.startsWith(`${FAKE_DIR}/`), bytes: req.text.length, savedAt: new Date(0).toISOString(), ...(backup ? { backup } : {}) };
      },
      async openProject(req): Promise<OpenedProject> {
        const path = req.path ?? `${FAKE_DIR}/${req.name}`;
        const text = io.disk.get(path);
        if (text === undefined) throw new ApiError('not-found', `${path} does not exist`);
        return { path, name: path.split('/').pop()!, inFolder: path.startsWith(`${FAKE_DIR}/`), text };
      },
      async saveProjectAs(req) {
        if (io.dialogChoice === undefined) throw new ApiError('failed', 'native file dialogs exist only in the desktop app');
        if (io.dialogChoice === null) return null;
        return this.saveProject({ text: req.text, path: io.dialogChoice, overwrite: true });
      },
      async openProjectDialog() {
        if (!io.dialogChoice) return null;
        return this.openProject({ path: io.dialogChoice });
      },
      async saveRecovery(req) {
        io.recovery.set(req.key, { text: req.text, sourcePath: req.sourcePath ?? null });
      },
      async listRecovery() {
        const items = [...io.recovery].map(([key, r]) => ({ key, sourcePath: r.sourcePath, savedAt: new Date(0).toISOString(), name: key, text: r.text }));
        return { items, unreadable: [] };
      },
      async discardRecovery({ key }) {
        io.recovery.delete(key);
      },
    }),
  };
  return io;
}
