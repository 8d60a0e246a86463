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

/** Progress of preparing (downloading) or importing a dataset: the payload of `onDatasetProgress`. */
export interface DatasetProgress {
  id: string;
  phase: 'download' | 'extract' | 'decode' | 'write';
  /** Download: bytes so far and total (when known), bytes/s and seconds left. */
  bytes?: number;
  total?: number;
  speed?: number;
  etaSeconds?: number;
  /** Decode: items done out of count. */
  done?: number;
  count?: number;
  message?: string;
}

/** A few sample images per class, for the UI. */
export interface DatasetPreview {
  id: string;
  classNames: string[];
  /** Images per class in each split. */
  trainCounts: number[];
  testCounts: number[];
  /** One entry per class: PNG data URLs of training samples of that class. */
  samples: { label: number; className: string; images: string[] }[];
}
