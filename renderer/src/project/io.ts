/**
 * How projects reach the disk. Saving and opening go through the engine API (the engine writes
 * atomically and keeps `<name>.bak`): by name in the projects folder, or, in the desktop app, through a
 * native Save As / Open dialog. A browser upload / download stays available as Import file / Download a
 * copy, for moving a project between machines.
 */
import type { EngineApi } from '../../../shared/api';
import { projectFileNameFor } from '../../../shared/api/projects';

export interface OpenedFile {
  fileName: string;
  text: string;
}

/** The engine requests the project files use. */
export type ProjectFilesApi = Pick<
  EngineApi,
  'listProjects' | 'saveProject' | 'openProject' | 'saveProjectAs' | 'openProjectDialog' | 'saveRecovery' | 'listRecovery' | 'discardRecovery'
>;

export interface ProjectIO {
  /** The engine (created on first use, so tests and the start screen do not connect early). */
  files(): ProjectFilesApi;
  /** True when the engine shows native Save As / Open dialogs (the desktop app). */
  nativeDialogs(): Promise<boolean>;
  /** Asks the user for a file from their computer (browser upload); null when they cancel. */
  importFile(): Promise<OpenedFile | null>;
  /** Gives the user a copy of the project as a download. */
  downloadFile(fileName: string, text: string): void;
}

/** A project file name for what the user typed: `My Net` -> `My-Net.json`, `net.json` stays. */
export function projectFileName(name: string): string {
  return projectFileNameFor(name);
}

/** True for an absolute path on the engine's machine (a file saved or opened through the engine). */
export function isEnginePath(fileName: string | null | undefined): fileName is string {
  return !!fileName && (fileName.startsWith('/') || /^[A-Za-z]:[\\/]/.test(fileName) || fileName.startsWith('\\\\'));
}

/** The last part of a path: what the title bar shows. */
export function baseName(fileName: string): string {
  return fileName.split(/[\\/]/).pop() || fileName;
}

export function browserImportFile(): Promise<OpenedFile | null> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = '.json,application/json';
    input.style.display = 'none';
    input.dataset.testid = 'open-file-input';
    let settled = false;
    const done = (value: OpenedFile | null) => {
      if (settled) return;
      settled = true;
      input.remove();
      resolve(value);
    };
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      if (!file) return done(null);
      file.text().then(
        (text) => done({ fileName: file.name, text }),
        () => done(null),
      );
    });
    input.addEventListener('cancel', () => done(null));
    document.body.append(input);
    input.click();
  });
}

export function browserDownloadFile(fileName: string, text: string): void {
  downloadBlob(new Blob([text], { type: 'application/json' }), fileName);
}

/** Saves a blob through the browser's download (a temporary link; the URL is revoked after 10 s). */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
