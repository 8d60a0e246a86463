/** What every built-in source gets from the registry, and the shared options of prepare/import. */
import type { DatasetProgress } from '../../../shared/api/datasets';

export interface SourceContext {
  /** The data folder (`dataDir()` or a test's temporary folder). */
  root: string;
  /** Environment for URL / checksum overrides (process.env by default). */
  env: NodeJS.ProcessEnv;
  /** Folders where system packages put datasets (Debian's dataset-fashion-mnist); [] disables the lookup. */
  systemDirs?: { fashionMnist?: string[] };
}

export interface PrepareOptions {
  onProgress?: (p: DatasetProgress) => void;
  signal?: AbortSignal;
  /** Overrides the download URL (a mirror); the checksum then comes from `sha256`/`md5` when given. */
  url?: string;
  sha256?: string;
  md5?: string;
  retries?: number;
}

export interface ImportOptions {
  onProgress?: (p: DatasetProgress) => void;
  signal?: AbortSignal;
}
