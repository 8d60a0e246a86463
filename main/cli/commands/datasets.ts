import { parseArgs } from 'node:util';
import type { DatasetInfo, DatasetPreview, DatasetProgress, TableImportReport, TablePreview, TextImportOptions, TextImportReport } from '../../../shared/api/datasets';
import { TOKENIZER_KINDS, type TokenizerKind } from '../../../shared/text/types';
import type { ColumnType, TableTask } from '../../../shared/tables/types';
import { createDatasetRegistry, previewText, type DatasetRegistry, type ImportKind } from '../../engine/datasets';
import { describeColumns, previewTable } from '../../engine/datasets/table';
import { delimiterName } from '../../engine/datasets/table/csv';
import { UsageError, type CliCommand, type CliIO } from '../command';

const USAGE = `Usage:
  layerforge datasets list [--json] [--data-dir DIR]
  layerforge datasets prepare ID [--data-dir DIR] [--url URL] [--sha256 HEX] [--md5 HEX] [--json]
  layerforge datasets import PATH [--as cifar10|mnist|fashion-mnist|folder|table] [--name NAME]
                                   [--size HxW] [--grey] [--test-fraction F] [--seed N] [--data-dir DIR] [--json]
  layerforge datasets import FILE.csv [--as table] [--target COLUMN] [--task classification|regression]
                                   [--name NAME] [--test-fraction 0.2] [--seed 42] [--type COLUMN=TYPE ...]
                                   [--data-dir DIR] [--json]
  layerforge datasets preview-table FILE.csv [--target COLUMN] [--type COLUMN=TYPE ...] [--rows N] [--json]
  layerforge datasets import PATH --as text [--name NAME] [--tokenizer word|char|bpe] [--vocab-size N] [--lowercase]
                                   [--seq-len T] [--test-fraction 0.2] [--seed 42] [--text-column C --label-column L]
                                   [--split-on-percent] [--classes A,B,...] [--skip-bad] [--data-dir DIR] [--json]
  layerforge datasets import PATH --as corpus [--name NAME] [--tokenizer char|word|bpe] [--vocab-size N]
                                   [--seq-len T] [--stride S] [--test-fraction 0.1] [--split-on-percent] [--skip-bad]
                                   [--data-dir DIR] [--json]
  layerforge datasets preview-text ID [--per-class N] [--tokens N] [--data-dir DIR] [--json]

  list      every dataset: id, status, train/test sizes, input shape, where it is cached
  prepare   download a dataset (cifar10, mnist, fashion-mnist) with a progress bar on stderr;
            --url sets a mirror (also LAYERFORGE_CIFAR10_URL, LAYERFORGE_MNIST_URL, LAYERFORGE_FASHION_MNIST_URL)
  import    import from disk: a CIFAR-10 archive or cifar-10-batches-bin folder, a folder of MNIST-style
            IDX files, or an image folder (one sub-folder per class, optional train/ and test/) or its .tar.gz
            --size HxW resizes images (default: the first image's size), --grey makes 1 channel
            a .csv/.tsv file (or --as table) is a table: one row per sample, a header row naming the
            columns; --target names the column to predict (default: the last), --task overrides the task
            it implies, --type sets a column's use (numeric, categorical or ignored; repeatable);
            rows are split into train/test by --test-fraction (0.2) with --seed (42)
  preview-table  what a table import would find: delimiter, column types and why, task, classes, first rows
  --as text  labelled text (classification): a folder with one sub-folder per class holding .txt files (one
            example per file; optional train/ and test/), a CSV with a text and a label column (--text-column,
            --label-column; default 'text' and 'label'), or fortune files with --split-on-percent (entries
            separated by lines holding a single '%', one class per file; --classes picks some). Texts are
            tokenized (--tokenizer word (default), char or bpe; --vocab-size caps the ids; --lowercase for word)
            and padded or cut to --seq-len tokens (64 word, 256 char, 128 bpe); the split is seeded
  --as corpus  text for language modelling: a .txt file or a folder of them (fortune files: --split-on-percent
            removes the '%' lines); tokenized whole (char by default), the last --test-fraction (0.1) of the
            text is the test split; examples are windows of --seq-len + 1 tokens, --stride apart (default: T)
  --skip-bad  leave out files that are not UTF-8 or empty, empty class folders and rows without text, each
            reported, instead of stopping at the first
  preview-text  example texts of an imported text dataset with their labels and first tokens (ids and text)
  --data-dir  the data folder (default: LAYERFORGE_DATA_DIR, else the user-data folder)`;

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

function progressPrinter(io: CliIO, json: boolean): { onProgress: (p: DatasetProgress) => void; done: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  let last = 0;
  let lastLine = '';
  return {
    onProgress(p) {
      if (json) {
        io.err(JSON.stringify({ event: 'progress', ...p }));
        return;
      }
      let line: string;
      if (p.phase === 'download' && p.bytes !== undefined) {
        const frac = p.total ? p.bytes / p.total : undefined;
        const width = 30;
        const bar = frac !== undefined ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(1).padStart(5)}%` : '';
        const eta = p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds) ? ` ETA ${Math.ceil(p.etaSeconds)}s` : '';
        line = `${p.message ? `${p.message} ` : ''}${bar} ${mb(p.bytes)}${p.total ? ` / ${mb(p.total)}` : ''} ${mb(p.speed ?? 0)}/s${eta}`;
      } else if (p.phase === 'decode' && p.count) {
        line = `decoding ${p.done ?? 0}/${p.count}`;
      } else {
        line = `${p.phase}${p.message ? `: ${p.message}` : ''}`;
      }
      const now = Date.now();
      if (tty) {
        if (now - last < 100 && line.split(' ')[0] === lastLine.split(' ')[0]) return;
        process.stderr.write(`\r${line.padEnd(lastLine.length)}`);
      } else {
        if (now - last < 2000 && p.phase === lastLine.split(':')[0]) return;
        io.err(line);
      }
      last = now;
      lastLine = line;
    },
    done() {
      if (tty && lastLine) process.stderr.write('\n');
    },
  };
}

function row(d: DatasetInfo): string[] {
  return [d.id, d.status, d.trainSize.toLocaleString('en-US'), d.testSize.toLocaleString('en-US'), d.inputShape.length ? d.inputShape.join('x') : '?', d.cachePath ?? (d.message ?? '')];
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 2 || i === 3 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd()).join('\n');
}

function registry(dataDir: string | undefined): DatasetRegistry {
  return createDatasetRegistry(dataDir ? { root: dataDir } : {});
}

const KINDS: ImportKind[] = ['cifar10', 'mnist', 'fashion-mnist', 'folder', 'table', 'text', 'corpus'];
const TASKS: TableTask[] = ['classification', 'regression'];
const COLUMN_TYPES: ColumnType[] = ['numeric', 'categorical', 'ignored'];

/** A whole-number flag in [min, max], or undefined when not given. */
function wholeNumber(v: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min || x > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max.toLocaleString('en-US')}, got '${v}'.`);
  return x;
}

/** The text import flags given (by name, for messages) and as import options. */
function textOptionsOf(values: Record<string, string | boolean | string[] | undefined>): { flags: Record<string, true>; options: TextImportOptions } {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const flags: Record<string, true> = {};
  const options: TextImportOptions = {};
  const tokenizer = str('tokenizer');
  if (tokenizer !== undefined) {
    if (!TOKENIZER_KINDS.includes(tokenizer as TokenizerKind)) throw new UsageError(`--tokenizer must be one of ${TOKENIZER_KINDS.join(', ')}, got '${tokenizer}'.`);
    options.tokenizer = tokenizer as TokenizerKind;
    flags['--tokenizer'] = true;
  }
  const vocab = wholeNumber(str('vocab-size'), '--vocab-size', 3, 1_000_000);
  if (vocab !== undefined) {
    options.vocabSize = vocab;
    flags['--vocab-size'] = true;
  }
  const seqLen = wholeNumber(str('seq-len'), '--seq-len', 1, 100_000);
  if (seqLen !== undefined) {
    options.seqLen = seqLen;
    flags['--seq-len'] = true;
  }
  const stride = wholeNumber(str('stride'), '--stride', 1, 100_000);
  if (stride !== undefined) {
    options.stride = stride;
    flags['--stride'] = true;
  }
  if (values.lowercase) {
    options.lowercase = true;
    flags['--lowercase'] = true;
  }
  if (values['split-on-percent']) {
    options.splitOnPercent = true;
    flags['--split-on-percent'] = true;
  }
  if (values['skip-bad']) {
    options.skipBad = true;
    flags['--skip-bad'] = true;
  }
  const textColumn = str('text-column');
  if (textColumn !== undefined) {
    options.textColumn = textColumn;
    flags['--text-column'] = true;
  }
  const labelColumn = str('label-column');
  if (labelColumn !== undefined) {
    options.labelColumn = labelColumn;
    flags['--label-column'] = true;
  }
  const classes = str('classes');
  if (classes !== undefined) {
    options.classes = classes.split(',').map((c) => c.trim()).filter(Boolean);
    if (!options.classes.length) throw new UsageError(`--classes must list class names separated by commas, got '${classes}'.`);
    flags['--classes'] = true;
  }
  return { flags, options };
}

/** --type COLUMN=TYPE flags as columnTypes. */
function columnTypesOf(flags: string[] | undefined): Record<string, ColumnType> | undefined {
  if (!flags?.length) return undefined;
  const out: Record<string, ColumnType> = {};
  for (const f of flags) {
    const at = f.lastIndexOf('=');
    const type = f.slice(at + 1) as ColumnType;
    if (at <= 0 || !COLUMN_TYPES.includes(type)) throw new UsageError(`--type must look like COLUMN=numeric|categorical|ignored, got '${f}'.`);
    out[f.slice(0, at)] = type;
  }
  return out;
}

function taskOf(v: string | undefined): TableTask | undefined {
  if (v !== undefined && !TASKS.includes(v as TableTask)) throw new UsageError(`--task must be classification or regression, got '${v}'.`);
  return v as TableTask | undefined;
}

const n = (x: number) => x.toLocaleString('en-US');
const g = (x: number) => Number(x.toPrecision(6)).toString();

/** What a table import found, for people. */
function tableSummary(info: DatasetInfo, report: TableImportReport, seconds: number): string[] {
  const pre = report.preprocessing;
  const out: string[] = [];
  out.push(`Imported ${info.id} from ${pre.source.file}: ${n(pre.source.rows)} rows, ${pre.source.header.length} columns (delimiter: ${delimiterName(pre.source.delimiter)}), in ${seconds.toFixed(1)} s.`);
  out.push('Columns:');
  for (const l of describeColumns(report)) out.push(`  ${l}`);
  const t = pre.target;
  if (t.task === 'classification') {
    const classes = t.classes ?? [];
    out.push(`Task: classification of '${t.name}', ${classes.length} classes: ${classes.slice(0, 20).join(', ')}${classes.length > 20 ? ', …' : ''}`);
  } else {
    out.push(`Task: regression of '${t.name}' (training mean ${g(t.mean ?? 0)}, std ${g(t.std ?? 1)}; the model learns the standardised value)`);
  }
  const filled = Object.entries(report.filled);
  if (filled.length) {
    const how = (c: string) => (pre.columns.find((x) => x.name === c)?.type === 'numeric' ? 'training mean' : "category '(missing)'");
    out.push(`Missing values filled: ${filled.map(([c, k]) => `${c} ${n(k)} (${how(c)})`).join(', ')}`);
  } else out.push('Missing values filled: none');
  out.push(`Rows dropped (no target value): ${n(report.droppedRows)}`);
  out.push(`Split: ${n(info.trainSize)} train / ${n(info.testSize)} test rows (seed ${pre.split.seed}, test fraction ${pre.split.testFraction}); ${pre.featureNames.length} input features.`);
  for (const w of report.warnings ?? []) out.push(`Warning: ${w}`);
  out.push(`Cached in ${info.cachePath}`);
  return out;
}

const kb = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MB` : `${(b / 1024).toFixed(1)} KB`);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** What a text or corpus import found, for people. */
function textSummary(info: DatasetInfo, r: TextImportReport, seconds: number): string[] {
  const out: string[] = [];
  const layout = { folders: 'class folders', csv: 'a CSV file', fortunes: r.kind === 'text' ? "fortune files, split on '%' lines" : "fortune files, '%' lines removed", files: 'text files' }[r.layout];
  const tk = r.tokenizer;
  const vocab = `${tk.kind}, ${n(tk.vocabSize)} ids${tk.lowercase ? ' (lower-cased)' : tk.kind === 'word' ? ' (case kept)' : ''}`;
  if (r.kind === 'text') {
    out.push(`Imported ${info.id} from ${layout}: ${n(r.examples ?? 0)} examples in ${info.classNames.length} classes, ${n(r.files)} file${r.files === 1 ? '' : 's'} (${kb(r.bytes)}), in ${seconds.toFixed(1)} s.`);
    const counts = r.classCounts ?? [];
    out.push(`Classes: ${info.classNames.slice(0, 30).map((c, i) => `${c} ${n(counts[i] ?? 0)}`).join(', ')}${info.classNames.length > 30 ? ', …' : ''}`);
    out.push(`Tokenizer: ${vocab}; sequence length ${r.seqLen}: ${n(r.truncated ?? 0)} example${r.truncated === 1 ? '' : 's'} (${pct((r.truncated ?? 0) / Math.max(1, r.examples ?? 0))}) cut, mean ${(r.meanTokens ?? 0).toFixed(1)} tokens, longest ${n(r.maxTokens ?? 0)}.`);
    const how = r.split.given ? 'from the train/ and test/ folders' : `seed ${r.split.seed}, test fraction ${r.split.testFraction}`;
    out.push(`Split: ${n(info.trainSize)} train / ${n(info.testSize)} test examples (${how}); ${pct(r.oovRate)} of the test tokens are unknown to the tokenizer.`);
  } else {
    out.push(`Imported ${info.id} from ${layout}: ${n(r.files)} file${r.files === 1 ? '' : 's'} (${kb(r.bytes)}), in ${seconds.toFixed(1)} s.`);
    out.push(`Tokenizer: ${vocab}; windows of ${r.seqLen} tokens (+1 target), stride ${r.stride ?? r.seqLen}.`);
    out.push(`Tokens: ${n(r.tokens?.train ?? 0)} train / ${n(r.tokens?.test ?? 0)} test (the last ${pct(r.split.testFraction)} of the text) -> ${n(info.trainSize)} train / ${n(info.testSize)} test windows; ${pct(r.oovRate)} of the test tokens are unknown to the tokenizer.`);
  }
  if (r.layout === 'fortunes') out.push(`Empty entries (two '%' lines in a row): ${n(r.emptyEntries)}`);
  // Problems one by one; files not read by design (links, strfile indexes, other files) as counts.
  const problems = r.skipped.filter((x) => x.kind === 'problem');
  if (problems.length) {
    out.push(`Skipped ${n(problems.length)}:`);
    for (const x of problems.slice(0, 20)) out.push(`  ${x.reason}`);
    if (problems.length > 20) out.push(`  … and ${n(problems.length - 20)} more (--json lists them all).`);
  }
  const count = (k: string) => r.skipped.filter((x) => x.kind === k).length;
  const notRead = [
    count('duplicate') && `${n(count('duplicate'))} link${count('duplicate') === 1 ? '' : 's'} to files read already`,
    count('index') && `${n(count('index'))} strfile index${count('index') === 1 ? '' : 'es'} (.dat)`,
    count('other') && `${n(count('other'))} other file${count('other') === 1 ? '' : 's'} (${r.skipped.filter((x) => x.kind === 'other').slice(0, 3).map((x) => x.file).join(', ')}${count('other') > 3 ? ', …' : ''})`,
  ].filter(Boolean);
  if (notRead.length) out.push(`Not read: ${notRead.join(', ')}; --json lists them.`);
  for (const w of r.warnings) out.push(`Warning: ${w}`);
  out.push(`Cached in ${info.cachePath}`);
  return out;
}

/** Example texts of a text dataset with their first tokens, for people. */
function textPreviewSummary(p: DatasetPreview): string[] {
  const out: string[] = [];
  const t = p.tokenizer;
  if (t) out.push(`${p.id}: ${t.kind} tokenizer, ${n(t.vocabSize)} ids, ${t.seqLen} tokens per example`);
  if (p.classNames.length) out.push(`Classes (train / test): ${p.classNames.map((c, i) => `${c} ${n(p.trainCounts[i] ?? 0)}/${n(p.testCounts[i] ?? 0)}`).join(', ')}`);
  for (const x of p.texts ?? []) {
    const one = x.text.replace(/\s+/g, ' ').trim();
    out.push('');
    out.push(`${x.className !== undefined ? `[${x.className}] ` : ''}${x.source ?? ''}: ${one.length > 160 ? `${one.slice(0, 160)}…` : one}`);
    out.push(`  ${x.length} tokens${x.truncated ? ` (cut at ${t?.seqLen})` : ''}: ${x.ids.map((id, i) => `${id}:${JSON.stringify(x.tokens[i])}`).join(' ')}${x.length > x.ids.length ? ' …' : ''}`);
  }
  return out;
}

function previewSummary(p: TablePreview, shown: number): string[] {
  const out: string[] = [];
  out.push(`${p.path}: ${n(p.rowCount)} rows, ${p.header.length} columns, delimiter ${delimiterName(p.delimiter)}`);
  const rows = [['COLUMN', 'TYPE', 'MISSING', 'DISTINCT', 'RANGE', 'WHY'], ...p.columns.map((c) => [
    c.name, c.type, String(c.missing), String(c.distinct), c.min !== undefined ? `${g(c.min)}..${g(c.max!)}` : '', c.reason ?? '',
  ])];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) out.push(r.map((c, i) => c.padEnd(i === r.length - 1 ? 0 : w[i]!)).join('  ').trimEnd());
  out.push(`Target: '${p.target}' -> ${p.task}${p.classes ? `, ${p.classes.length} classes: ${p.classes.slice(0, 20).join(', ')}${p.classes.length > 20 ? ', …' : ''}` : ''}`);
  for (const wn of p.warnings) out.push(`Warning: ${wn}`);
  if (shown) {
    out.push(`First ${Math.min(shown, p.rows.length)} rows:`);
    for (const r of p.rows.slice(0, shown)) out.push(`  ${r.map((c) => (/[,"\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')}`);
  }
  return out;
}

export const datasetsCommand: CliCommand = {
  name: 'datasets',
  summary: 'List, download (prepare) or import datasets.',
  usage: USAGE,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === 'list') {
      const { values, positionals } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, 'data-dir': { type: 'string' } }, allowPositionals: true });
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'.`);
      const reg = registry(values['data-dir']);
      const list = await reg.list();
      if (values.json) {
        io.out(JSON.stringify(list.map((d) => ({ ...d, classNames: d.classNames })), null, 2));
        return 0;
      }
      io.out(table([['ID', 'STATUS', 'TRAIN', 'TEST', 'SHAPE', 'WHERE'], ...list.map(row)]));
      io.out(`\nData folder: ${reg.root}`);
      return 0;
    }
    if (sub === 'prepare') {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { json: { type: 'boolean' }, 'data-dir': { type: 'string' }, url: { type: 'string' }, sha256: { type: 'string' }, md5: { type: 'string' } },
        allowPositionals: true,
      });
      if (positionals.length !== 1) throw new UsageError('prepare takes one dataset id (cifar10, mnist or fashion-mnist).');
      const id = positionals[0]!;
      const reg = registry(values['data-dir']);
      const before = await reg.info(id);
      if (before.status === 'ready') {
        io.err(`${id} is already ready (${before.cachePath}).`);
        if (values.json) io.out(JSON.stringify(before));
        return 0;
      }
      const ctl = new AbortController();
      const onSigint = () => ctl.abort();
      process.once('SIGINT', onSigint);
      const pp = progressPrinter(io, Boolean(values.json));
      try {
        const info = await reg.prepare(id, { onProgress: pp.onProgress, signal: ctl.signal, url: values.url, sha256: values.sha256, md5: values.md5 });
        pp.done();
        if (values.json) io.out(JSON.stringify(info));
        else io.out(`${id} ready: ${info.trainSize.toLocaleString('en-US')} train / ${info.testSize.toLocaleString('en-US')} test images in ${info.cachePath}`);
        return 0;
      } catch (error) {
        pp.done();
        throw error;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }
    if (sub === 'import') {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          as: { type: 'string' }, name: { type: 'string' }, size: { type: 'string' }, grey: { type: 'boolean' },
          'test-fraction': { type: 'string' }, seed: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' },
          target: { type: 'string' }, task: { type: 'string' }, type: { type: 'string', multiple: true },
          // Text and corpus imports.
          tokenizer: { type: 'string' }, 'vocab-size': { type: 'string' }, lowercase: { type: 'boolean' }, 'seq-len': { type: 'string' },
          'text-column': { type: 'string' }, 'label-column': { type: 'string' }, 'split-on-percent': { type: 'boolean' }, classes: { type: 'string' },
          stride: { type: 'string' }, 'skip-bad': { type: 'boolean' },
        },
        allowPositionals: true,
      });
      if (positionals.length !== 1) throw new UsageError('import takes one PATH.');
      const as = values.as as ImportKind | undefined;
      if (as !== undefined && !KINDS.includes(as)) throw new UsageError(`--as must be one of ${KINDS.join(', ')}, got '${as}'.`);
      let size: [number, number] | undefined;
      if (values.size !== undefined) {
        const m = /^(\d+)(?:x(\d+))?$/i.exec(values.size);
        if (!m) throw new UsageError(`--size must look like 32x32 (height x width) or 32, got '${values.size}'.`);
        size = [Number(m[1]), Number(m[2] ?? m[1])];
      }
      const num = (v: string | undefined, flag: string) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got '${v}'.`);
        return n;
      };
      const task = taskOf(values.task);
      const columnTypes = columnTypesOf(values.type);
      const tableFlags = [values.target !== undefined && '--target', task && '--task', columnTypes && '--type'].filter(Boolean);
      if (tableFlags.length && as !== undefined && as !== 'table') throw new UsageError(`${tableFlags.join(', ')} ${tableFlags.length === 1 ? 'applies' : 'apply'} to table imports only (--as table).`);
      const text = textOptionsOf(values);
      const textFlags = Object.keys(text.flags);
      if (textFlags.length && as !== 'text' && as !== 'corpus') throw new UsageError(`${textFlags.join(', ')} ${textFlags.length === 1 ? 'applies' : 'apply'} to text imports only (--as text or --as corpus).`);
      const reg = registry(values['data-dir']);
      const pp = progressPrinter(io, Boolean(values.json));
      const started = Date.now();
      let result;
      try {
        result = await reg.import(positionals[0]!, {
          as, name: values.name, size, channels: values.grey ? 1 : undefined,
          testFraction: num(values['test-fraction'], '--test-fraction'), seed: num(values.seed, '--seed'),
          ...(values.target !== undefined ? { target: values.target } : {}), ...(task ? { task } : {}), ...(columnTypes ? { columnTypes } : {}),
          ...text.options,
          onProgress: pp.onProgress,
        });
      } finally {
        pp.done();
      }
      const seconds = (Date.now() - started) / 1000;
      if (values.json) {
        io.out(JSON.stringify({ ...result.info, skipped: result.skipped, ...(result.table ? { table: result.table } : {}), ...(result.text ? { text: result.text } : {}), seconds }));
        return 0;
      }
      if (result.text) {
        for (const line of textSummary(result.info, result.text, seconds)) io.out(line);
        return 0;
      }
      if (result.table) {
        for (const line of tableSummary(result.info, result.table, seconds)) io.out(line);
        return 0;
      }
      for (const s of result.skipped.slice(0, 20)) io.err(`skipped ${s.file}: ${s.reason}`);
      if (result.skipped.length > 20) io.err(`… and ${result.skipped.length - 20} more unreadable images.`);
      const i = result.info;
      io.out(`Imported ${i.id}: ${i.trainSize.toLocaleString('en-US')} train / ${i.testSize.toLocaleString('en-US')} test images, ${i.classNames.length} classes, ${i.inputShape.join('x')}, in ${seconds.toFixed(1)} s${result.skipped.length ? ` (${result.skipped.length} unreadable images skipped)` : ''}.`);
      io.out(`Cached in ${i.cachePath}`);
      return 0;
    }
    if (sub === 'preview-table') {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { target: { type: 'string' }, type: { type: 'string', multiple: true }, rows: { type: 'string' }, json: { type: 'boolean' } },
        allowPositionals: true,
      });
      if (positionals.length !== 1) throw new UsageError('preview-table takes one FILE.csv.');
      const rows = values.rows === undefined ? undefined : Number(values.rows);
      if (rows !== undefined && !(Number.isInteger(rows) && rows >= 0 && rows <= 1000)) throw new UsageError(`--rows must be a whole number from 0 to 1000, got '${values.rows}'.`);
      const columnTypes = columnTypesOf(values.type);
      const preview = await previewTable(positionals[0]!, {
        ...(values.target !== undefined ? { target: values.target } : {}), ...(columnTypes ? { columnTypes } : {}), rows: rows ?? (values.json ? 20 : 5),
      });
      if (values.json) io.out(JSON.stringify(preview));
      else for (const line of previewSummary(preview, rows ?? 5)) io.out(line);
      return 0;
    }
    if (sub === 'preview-text') {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { 'per-class': { type: 'string' }, tokens: { type: 'string' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' } },
        allowPositionals: true,
      });
      if (positionals.length !== 1) throw new UsageError('preview-text takes one dataset id (text:NAME or corpus:NAME).');
      const id = positionals[0]!;
      if (!/^(text|corpus):/.test(id)) throw new UsageError(`preview-text shows text datasets (text:NAME or corpus:NAME), not '${id}'.`);
      const perClass = wholeNumber(values['per-class'], '--per-class', 1, 100) ?? 3;
      const tokens = wholeNumber(values.tokens, '--tokens', 1, 1000) ?? 24;
      const ds = await registry(values['data-dir']).load(id);
      const preview = previewText(ds, perClass, tokens);
      if (values.json) io.out(JSON.stringify(preview));
      else for (const line of textPreviewSummary(preview)) io.out(line);
      return 0;
    }
    if (sub === undefined) throw new UsageError('missing sub-command (list, prepare, import, preview-table or preview-text).');
    throw new UsageError(`unknown sub-command '${sub}' (use list, prepare, import, preview-table or preview-text).`);
  },
};
