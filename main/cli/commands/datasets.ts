import { parseArgs } from 'node:util';
import type { DatasetInfo, DatasetProgress } from '../../../shared/api/datasets';
import { createDatasetRegistry, type DatasetRegistry, type ImportKind } from '../../engine/datasets';
import { UsageError, type CliCommand, type CliIO } from '../command';

const USAGE = `Usage:
  layerforge datasets list [--json] [--data-dir DIR]
  layerforge datasets prepare ID [--data-dir DIR] [--url URL] [--sha256 HEX] [--md5 HEX] [--json]
  layerforge datasets import PATH [--as cifar10|mnist|fashion-mnist|folder] [--name NAME]
                                   [--size HxW] [--grey] [--test-fraction F] [--seed N] [--data-dir DIR] [--json]

  list      every dataset: id, status, train/test sizes, input shape, where it is cached
  prepare   download a dataset (cifar10, mnist, fashion-mnist) with a progress bar on stderr;
            --url sets a mirror (also LAYERFORGE_CIFAR10_URL, LAYERFORGE_MNIST_URL, LAYERFORGE_FASHION_MNIST_URL)
  import    import from disk: a CIFAR-10 archive or cifar-10-batches-bin folder, a folder of MNIST-style
            IDX files, or an image folder (one sub-folder per class, optional train/ and test/) or its .tar.gz
            --size HxW resizes images (default: the first image's size), --grey makes 1 channel
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

const KINDS: ImportKind[] = ['cifar10', 'mnist', 'fashion-mnist', 'folder'];

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
      const reg = registry(values['data-dir']);
      const pp = progressPrinter(io, Boolean(values.json));
      const started = Date.now();
      let result;
      try {
        result = await reg.import(positionals[0]!, {
          as, name: values.name, size, channels: values.grey ? 1 : undefined,
          testFraction: num(values['test-fraction'], '--test-fraction'), seed: num(values.seed, '--seed'),
          onProgress: pp.onProgress,
        });
      } finally {
        pp.done();
      }
      const seconds = (Date.now() - started) / 1000;
      if (values.json) {
        io.out(JSON.stringify({ ...result.info, skipped: result.skipped, seconds }));
        return 0;
      }
      for (const s of result.skipped.slice(0, 20)) io.err(`skipped ${s.file}: ${s.reason}`);
      if (result.skipped.length > 20) io.err(`… and ${result.skipped.length - 20} more unreadable images.`);
      const i = result.info;
      io.out(`Imported ${i.id}: ${i.trainSize.toLocaleString('en-US')} train / ${i.testSize.toLocaleString('en-US')} test images, ${i.classNames.length} classes, ${i.inputShape.join('x')}, in ${seconds.toFixed(1)} s${result.skipped.length ? ` (${result.skipped.length} unreadable images skipped)` : ''}.`);
      io.out(`Cached in ${i.cachePath}`);
      return 0;
    }
    if (sub === undefined) throw new UsageError('missing sub-command (list, prepare or import).');
    throw new UsageError(`unknown sub-command '${sub}' (use list, prepare or import).`);
  },
};
