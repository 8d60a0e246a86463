/**
 * The pure parts of "Import from disk…": its form (image data, labelled text or a text corpus), the checks and
 * the import request it sends.
 */
import type { ImportDatasetRequest } from '../../../shared/api';
import type { TokenizerKind } from '../../../shared/text/types';
import { isAbsolutePath } from '../export/formats';

/** What the path holds: image data (format detected), labelled text (classification) or a corpus (language modelling). */
export type DiskImportKind = 'images' | 'text' | 'corpus';

export interface DiskImportForm {
  kind: DiskImportKind;
  path: string;
  tokenizer: TokenizerKind;
  /** '' = the tokenizer's default (words 20,000, BPE 2,000, characters: all seen). */
  vocabSize: string;
  /** Tokens per text (labelled) or per window (corpus). */
  seqLen: string;
  /** Words only: lower-case first. */
  lowercase: boolean;
  /** Fortune files: entries end at '%' lines (labelled text: one class per file). */
  splitOnPercent: boolean;
  /** Labelled CSV files: the text and label columns ('' = the defaults, 'text' and 'label'). */
  textColumn: string;
  labelColumn: string;
  /** '' = from the file or folder name. */
  name: string;
}

/** Each kind's tokenizer when the form switches to it: words for labelled text, characters for a corpus. */
const DEFAULT_TOKENIZER: Record<Exclude<DiskImportKind, 'images'>, TokenizerKind> = { text: 'word', corpus: 'char' };
export const DEFAULT_TEXT_SEQ_LEN = 64;
const MAX_SEQ_LEN = 4096;

export const emptyDiskForm = (kind: DiskImportKind = 'images'): DiskImportForm => ({
  kind,
  path: '',
  tokenizer: kind === 'images' ? 'word' : DEFAULT_TOKENIZER[kind],
  vocabSize: '',
  seqLen: String(DEFAULT_TEXT_SEQ_LEN),
  lowercase: false,
  splitOnPercent: false,
  textColumn: '',
  labelColumn: '',
  name: '',
});

/** The form switched to another kind: the path and name stay, the tokenizer becomes that kind's default. */
export function withKind(form: DiskImportForm, kind: DiskImportKind): DiskImportForm {
  if (kind === form.kind) return form;
  return { ...form, kind, tokenizer: kind === 'images' ? form.tokenizer : DEFAULT_TOKENIZER[kind] };
}

/** The vocabulary a tokenizer gets when none is given, in words. */
export function defaultVocabulary(tokenizer: TokenizerKind): string {
  return tokenizer === 'word' ? '20,000' : tokenizer === 'bpe' ? '2,000' : 'every character seen';
}

export type DiskFormErrors = Partial<Record<'path' | 'seqLen' | 'vocabSize', string>>;

const wholeNumber = (v: string) => /^\s*\d+\s*$/.test(v);

export function validateDiskForm(form: DiskImportForm): DiskFormErrors {
  const errors: DiskFormErrors = {};
  const p = form.path.trim();
  if (!p) errors.path = 'Give the path of a file or folder on the engine’s machine.';
  else if (form.kind !== 'images' && !isAbsolutePath(p)) errors.path = 'Give an absolute path on the engine’s machine (for example /home/me/data/reviews).';
  if (form.kind === 'images') return errors;
  const min = form.kind === 'corpus' ? 2 : 1;
  const t = Number(form.seqLen);
  if (!wholeNumber(form.seqLen) || t < min || t > MAX_SEQ_LEN) errors.seqLen = `a whole number from ${min} to ${MAX_SEQ_LEN.toLocaleString()}`;
  if (form.vocabSize.trim()) {
    const v = Number(form.vocabSize);
    if (!wholeNumber(form.vocabSize) || v < 3 || v > 1_000_000) errors.vocabSize = 'a whole number from 3 to 1,000,000 (or empty for the default)';
  }
  return errors;
}

/** What the form sends besides nothing: `path` and, for text, the options given (defaults left to the engine). */
export function diskImportRequest(form: DiskImportForm): ImportDatasetRequest {
  const path = form.path.trim();
  if (form.kind === 'images') return { path };
  const name = form.name.trim();
  const vocab = form.vocabSize.trim();
  return {
    path,
    as: form.kind,
    tokenizer: form.tokenizer,
    seqLen: Number(form.seqLen),
    ...(vocab ? { vocabSize: Number(vocab) } : {}),
    ...(form.tokenizer === 'word' && form.lowercase ? { lowercase: true } : {}),
    ...(form.splitOnPercent ? { splitOnPercent: true } : {}),
    ...(form.kind === 'text' && form.textColumn.trim() ? { textColumn: form.textColumn.trim() } : {}),
    ...(form.kind === 'text' && form.labelColumn.trim() ? { labelColumn: form.labelColumn.trim() } : {}),
    ...(name ? { name } : {}),
  };
}
