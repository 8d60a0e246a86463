/** Types of scripts/dist/files.mjs (`npm run dist:files`), for its tests. */
export interface AsarFile {
  /** Relative to the app root, '/'-separated. */
  path: string;
  size: number;
  /** In app.asar.unpacked/ (a real file on disk) rather than inside app.asar. */
  unpacked: boolean;
}
export function ensureBuilt(log?: (line: string) => void): void;
export function listAsar(asarPath: string): AsarFile[];
export function packFileList(options?: { arch?: string; keep?: boolean }): { files: AsarFile[]; asarBytes: number; unpackedBytes: number; dir?: string };
