/**
 * Safe tar(.gz) reading, written on node:zlib: only the members the caller accepts are extracted, each to a
 * path the caller chooses inside the destination folder; names with `..`, absolute names, symlinks, hard
 * links and devices are never written. Also a tiny tar writer (used by tests to build archives in the
 * official layouts, and by nothing that handles user input).
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, posix, relative, resolve, sep } from 'node:path';
import { createGunzip, gzipSync } from 'node:zlib';

export interface TarMember {
  /** Normalised member name (posix, no leading './'). */
  name: string;
  size: number;
  /** '0' file, '5' directory, '2' symlink, '1' hard link, … */
  type: string;
}

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarError';
  }
}

function field(block: Buffer, start: number, len: number): string {
  const raw = block.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function octal(block: Buffer, start: number, len: number): number {
  // GNU base-256 for big sizes: first byte has the high bit set.
  if (block[start]! & 0x80) {
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + block[i]!;
    return v;
  }
  const s = field(block, start, len).trim();
  if (!s) return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`Corrupt tar header: bad number '${s}'.`);
  return parseInt(s, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = octal(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === stored;
}

/** A member name made safe for matching: posix, no './' prefix; undefined when absolute or escaping. */
export function safeMemberName(name: string): string | undefined {
  if (!name || name.includes('\0')) return undefined;
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[a-zA-Z]:/.test(n)) return undefined;
  const norm = posix.normalize(n).replace(/^(\.\/)+/, '').replace(/\/$/, '');
  if (norm === '..' || norm.startsWith('../') || norm.split('/').includes('..')) return undefined;
  return norm;
}

/** Largest long-name / pax header member read into memory. */
const MAX_META_BYTES = 1 << 20;

export interface ExtractOptions {
  gzip?: boolean;
  signal?: AbortSignal;
  /** Largest member written (its header's size), default 1 GiB; larger ones fail the extraction. */
  maxMemberBytes?: number;
  /** Most bytes written in all (by header sizes), default 32 GiB: a tar.gz bomb cannot fill the disk beyond it. */
  maxTotalBytes?: number;
}

/**
 * Streams a tar (gzipped when `gzip`, else plain) and calls `onMember` for each member header; when it
 * returns a relative path, the member's data is written there under `destDir`. Returns every member seen.
 * Members are written exactly as long as their header says, so the size limits hold whatever the
 * compressed stream inflates to; skipped members are streamed past without being stored.
 */
export async function extractTar(
  archive: string,
  destDir: string,
  accept: (m: TarMember) => string | undefined,
  opts: ExtractOptions = {},
): Promise<TarMember[]> {
  const maxMember = opts.maxMemberBytes ?? 2 ** 30;
  const maxTotal = opts.maxTotalBytes ?? 32 * 2 ** 30;
  let written = 0;
  const gzip = opts.gzip ?? /\.(tgz|gz)$/i.test(archive);
  const root = resolve(destDir);
  await mkdir(root, { recursive: true });
  const input = createReadStream(archive);
  const stream = gzip ? input.pipe(createGunzip()) : input;
  input.on('error', (e) => stream.destroy(e));

  const seen: TarMember[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let remaining = 0; // data bytes left in the current member
  let padding = 0; // padding bytes after it
  let out: WriteStream | undefined;
  let longName: string | undefined;
  let paxPath: string | undefined;
  let meta: Buffer[] | undefined; // collects 'L' / 'x' member data
  let metaType = '';
  let ended = false;

  const write = (chunk: Buffer) =>
    new Promise<void>((res, rej) => {
      out!.write(chunk, (e) => (e ? rej(e) : res()));
    });
  const close = () => new Promise<void>((res, rej) => { out!.end(() => res()); out!.on('error', rej); });

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (opts.signal?.aborted) throw new TarError('Extraction cancelled.');
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let pos = 0;
      while (!ended) {
        if (remaining > 0) {
          const take = Math.min(remaining, pending.length - pos);
          if (take <= 0) break;
          const piece = pending.subarray(pos, pos + take);
          if (out) await write(Buffer.from(piece));
          else if (meta) meta.push(Buffer.from(piece));
          pos += take;
          remaining -= take;
          if (remaining > 0) break;
          if (out) {
            await close();
            out = undefined;
          }
          if (meta) {
            const text = Buffer.concat(meta).toString('utf8');
            if (metaType === 'L') longName = text.replace(/\0+$/, '');
            else if (metaType === 'x') {
              for (const rec of text.split('\n')) {
                const m = /^\d+ path=(.*)$/.exec(rec);
                if (m) paxPath = m[1];
              }
            }
            meta = undefined;
          }
        }
        if (padding > 0) {
          const take = Math.min(padding, pending.length - pos);
          pos += take;
          padding -= take;
          if (padding > 0) break;
        }
        if (pending.length - pos < 512) break;
        const block = pending.subarray(pos, pos + 512);
        pos += 512;
        if (block.every((b) => b === 0)) {
          ended = true;
          break;
        }
        if (!checksumOk(block)) throw new TarError(`${archive}: corrupt tar header (checksum mismatch) after ${seen.length} members.`);
        const type = String.fromCharCode(block[156]! || 48);
        const size = octal(block, 124, 12);
        const prefix = block.subarray(257, 263).toString('latin1').startsWith('ustar') ? field(block, 345, 155) : '';
        let name = longName ?? paxPath ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
        remaining = size;
        padding = (512 - (size % 512)) % 512;
        if (type === 'L' || type === 'x' || type === 'g') {
          if (size > MAX_META_BYTES) throw new TarError(`${archive}: a '${type}' header member claims ${size} bytes (limit ${MAX_META_BYTES}): not a valid archive.`);
          meta = [];
          metaType = type;
          if (size === 0) meta = undefined;
          continue;
        }
        longName = undefined;
        paxPath = undefined;
        const safe = safeMemberName(name);
        name = safe ?? name;
        const member: TarMember = { name, size: type === '0' || type === '7' ? size : 0, type: type === '7' ? '0' : type };
        seen.push(member);
        const target = safe !== undefined && (member.type === '0' || member.type === '5') ? accept(member) : undefined;
        if (target !== undefined && member.type === '0') {
          if (size > maxMember) throw new TarError(`${archive}: member '${name}' is ${size} bytes, more than the limit of ${maxMember} bytes for one file.`);
          written += size;
          if (written > maxTotal) throw new TarError(`${archive}: extracting member '${name}' would write ${written} bytes in all, more than the limit of ${maxTotal} bytes.`);
          const full = resolve(root, target);
          const rel = relative(root, full);
          if (!rel || rel.startsWith('..') || rel.split(sep).includes('..') ) {
            throw new TarError(`Refusing to write tar member '${name}' outside ${root}.`);
          }
          await mkdir(dirname(full), { recursive: true });
          out = createWriteStream(full);
          if (size === 0) {
            await close();
            out = undefined;
          }
        }
      }
      pending = pos < pending.length ? pending.subarray(pos) : Buffer.alloc(0);
      if (ended) break;
    }
    if (!ended && (remaining > 0 || pending.length > 0 || out)) {
      throw new TarError(`${archive}: the archive is truncated (ended inside member '${seen.at(-1)?.name ?? '?'}').`);
    }
  } catch (error) {
    if (out) out.destroy();
    stream.destroy();
    if (error instanceof TarError) throw error;
    const msg = error instanceof Error ? error.message : String(error);
    throw new TarError(`${archive}: cannot read the archive (${msg}).`);
  }
  return seen;
}

export interface TarEntryInput {
  name: string;
  data?: Uint8Array;
  /** '0' file (default), '5' directory, '2' symlink. */
  type?: '0' | '5' | '2';
  linkName?: string;
}

/** Builds a ustar archive in memory (names up to 100 bytes). `gzip` gzips it. */
export function createTar(entries: TarEntryInput[], gzip = false): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    const type = e.type ?? '0';
    const data = type === '0' ? Buffer.from(e.data ?? new Uint8Array()) : Buffer.alloc(0);
    if (Buffer.byteLength(e.name) > 100) throw new TarError(`createTar: name too long: ${e.name}`);
    h.write(e.name, 0, 100, 'utf8');
    h.write(type === '5' ? '0000755\0' : '0000644\0', 100, 8, 'latin1');
    h.write('0000000\0', 108, 8, 'latin1');
    h.write('0000000\0', 116, 8, 'latin1');
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
    h.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 12, 'latin1');
    h.write('        ', 148, 8, 'latin1');
    h.write(type, 156, 1, 'latin1');
    if (e.linkName) h.write(e.linkName, 157, 100, 'utf8');
    h.write('ustar\0', 257, 6, 'latin1');
    h.write('00', 263, 2, 'latin1');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += h[i]!;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  return gzip ? gzipSync(tar) : tar;
}
