import type * as tfjs from '@tensorflow/tfjs';
import type { ModelFolder } from './modelFolder';

export interface ExportResult {
  /** Every file written, absolute paths. */
  files: string[];
  /** Notes for the user (layout, limits), one line each. */
  notes: string[];
}

/** One export format: listed in export/index.ts, one folder each. */
export interface ExportFormat {
  id: 'tfjs' | 'onnx' | 'pytorch' | 'keras';
  label: string;
  /** '.onnx' for a single file; '' when the export is a folder. */
  extension: string;
  export(tf: typeof tfjs, folder: ModelFolder, outPath: string): Promise<ExportResult>;
}

/** Per-format, per-registry-type knowledge: either how to export it, or why it cannot be. */
export type Coverage<H> = { supported: H } | { unsupported: string };
