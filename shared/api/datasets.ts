/** What the UI and CLI know about a dataset. Crosses the engine API, so plain data only. */
export type DatasetStatus = 'ready' | 'missing' | 'downloading' | 'error';

export interface DatasetInfo {
  /** Stable id: 'cifar10', 'mnist', 'fashion-mnist', or 'folder:<name>' for imported folders. */
  id: string;
  name: string;
  /** Per-sample input shape, e.g. [32, 32, 3]. */
  inputShape: number[];
  classNames: string[];
  trainSize: number;
  testSize: number;
  license: string;
  homepage: string;
  status: DatasetStatus;
  /** Where the decoded cache lives, when ready. */
  cachePath?: string;
  /** Why it is not ready (e.g. the last download error). */
  message?: string;
  /** True when the source can be downloaded (not only imported). */
  downloadable: boolean;
}
