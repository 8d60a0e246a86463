/**
 * How projects reach the disk. The browser build uploads and downloads; Electron plugs in native
 * open/save dialogs behind the same interface.
 */
export interface OpenedFile {
  fileName: string;
  text: string;
}

export interface ProjectIO {
  /** Asks the user for a project file; null when they cancel. */
  open(): Promise<OpenedFile | null>;
  /** Writes the project; returns the file name it was saved under, or null when cancelled. */
  save(fileName: string, text: string): Promise<string | null>;
  /** True when save() writes in place (Electron); false when it downloads a copy (browser). */
  readonly writesInPlace: boolean;
}

export function projectFileName(name: string): string {
  const base = name.trim().replace(/[\\/:*?"<>|]+/g, '-').replace(/\s+/g, '-') || 'untitled';
  return base.toLowerCase().endsWith('.json') ? base : `${base}.layerforge.json`;
}

export const browserIO: ProjectIO = {
  writesInPlace: false,
  open() {
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
  },
  async save(fileName, text) {
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    a.style.display = 'none';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return fileName;
  },
};
