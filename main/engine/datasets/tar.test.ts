import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTar, extractTar, safeMemberName } from './tar';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lf-tar-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('safeMemberName', () => {
  it('normalises and rejects escaping or absolute names', () => {
    expect(safeMemberName('./a/b.bin')).toBe('a/b.bin');
    expect(safeMemberName('a/./c/')).toBe('a/c');
    expect(safeMemberName('../x')).toBeUndefined();
    expect(safeMemberName('a/../../x')).toBeUndefined();
    expect(safeMemberName('/etc/passwd')).toBeUndefined();
    expect(safeMemberName('C:/x')).toBeUndefined();
    expect(safeMemberName('a\\..\\..\\x')).toBeUndefined();
  });
});

describe('extractTar', () => {
  it('extracts only accepted members, never traversal names or links, gzipped or not', async () => {
    const big = Buffer.alloc(70_000, 7); // spans many gunzip chunks and tar blocks
    for (const gzip of [true, false]) {
      const archive = join(dir, gzip ? 'a.tar.gz' : 'a.tar');
      writeFileSync(archive, createTar([
        { name: 'top/', type: '5' },
        { name: 'top/keep.bin', data: big },
        { name: 'top/skip.txt', data: Buffer.from('no') },
        { name: '../evil.txt', data: Buffer.from('evil') },
        { name: 'top/link', type: '2', linkName: '/etc/passwd' },
        { name: 'top/empty.bin', data: new Uint8Array() },
      ], gzip));
      const out = join(dir, gzip ? 'out-gz' : 'out');
      const offered: string[] = [];
      const members = await extractTar(archive, out, (m) => {
        offered.push(m.name);
        return m.name.endsWith('.bin') || m.name.includes('evil') || m.name.endsWith('link') ? m.name : undefined;
      });
      expect(members.map((m) => m.name)).toEqual(['top', 'top/keep.bin', 'top/skip.txt', '../evil.txt', 'top/link', 'top/empty.bin']);
      // The traversal name and the symlink are never offered to accept().
      expect(offered).toEqual(['top', 'top/keep.bin', 'top/skip.txt', 'top/empty.bin']);
      expect(readFileSync(join(out, 'top/keep.bin')).equals(big)).toBe(true);
      expect(readFileSync(join(out, 'top/empty.bin')).length).toBe(0);
      expect(existsSync(join(out, 'top/skip.txt'))).toBe(false);
      expect(existsSync(join(out, 'top/link'))).toBe(false);
      expect(existsSync(join(dir, 'evil.txt'))).toBe(false);
    }
  });

  it('tar.gz bombs: a member over the size limit, too many bytes in all, or a huge pax/long-name header are refused naming the archive', async () => {
    const archive = join(dir, 'bomb.tar.gz');
    writeFileSync(archive, createTar([{ name: 'data_batch_1.bin', data: Buffer.alloc(8 * 2 ** 20) }], true));
    expect(statSync(archive).size).toBeLessThan(64 * 1024); // 8 MiB of zeros in a few KB
    const out = join(dir, 'out');
    await expect(extractTar(archive, out, (m) => m.name, { maxMemberBytes: 2 ** 20 })).rejects.toThrow(
      `${archive}: member 'data_batch_1.bin' is 8388608 bytes, more than the limit of 1048576 bytes for one file.`,
    );
    expect(readdirSync(out)).toEqual([]); // refused before a byte was written

    const many = join(dir, 'many.tar.gz');
    writeFileSync(many, createTar(['a', 'b', 'c'].map((n) => ({ name: `${n}.jpg`, data: Buffer.alloc(600_000) })), true));
    await expect(extractTar(many, join(dir, 'out2'), (m) => m.name, { maxTotalBytes: 2 ** 20 })).rejects.toThrow(
      /many\.tar\.gz: extracting member 'b\.jpg' would write 1200000 bytes in all, more than the limit of 1048576 bytes\./,
    );
    // Within the limits the same archive extracts.
    await extractTar(many, join(dir, 'out3'), (m) => m.name, { maxTotalBytes: 2 * 2 ** 20 });
    expect(readdirSync(join(dir, 'out3')).sort()).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);

    // A pax ('x') header member is read into memory: one claiming 2 MiB is refused (typeflag patched, checksum redone).
    const tar = createTar([{ name: 'PaxHeader', data: Buffer.alloc(2 * 2 ** 20) }, { name: 'x.bin', data: Buffer.from('x') }]);
    tar[156] = 'x'.charCodeAt(0);
    tar.fill(32, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const pax = join(dir, 'pax.tar.gz');
    writeFileSync(pax, gzipSync(tar));
    await expect(extractTar(pax, join(dir, 'out4'), (m) => m.name)).rejects.toThrow(`${pax}: a 'x' header member claims 2097152 bytes (limit 1048576): not a valid archive.`);
  });

  it('refuses an accept() target outside the destination', async () => {
    const archive = join(dir, 'a.tar');
    writeFileSync(archive, createTar([{ name: 'x.bin', data: Buffer.from('x') }]));
    await expect(extractTar(archive, join(dir, 'out'), () => '../x.bin')).rejects.toThrow(/outside/);
  });

  it('reports truncated and corrupt archives', async () => {
    const full = createTar([{ name: 'x.bin', data: Buffer.alloc(5000, 1) }]);
    const truncated = join(dir, 't.tar');
    writeFileSync(truncated, full.subarray(0, 2048));
    await expect(extractTar(truncated, join(dir, 'o1'), (m) => m.name)).rejects.toThrow(/truncated/);
    const corrupt = Buffer.from(full);
    corrupt[10] ^= 0x55;
    writeFileSync(join(dir, 'c.tar'), corrupt);
    await expect(extractTar(join(dir, 'c.tar'), join(dir, 'o2'), (m) => m.name)).rejects.toThrow(/checksum/);
    writeFileSync(join(dir, 'g.tar.gz'), Buffer.from('not gzip at all'));
    await expect(extractTar(join(dir, 'g.tar.gz'), join(dir, 'o3'), (m) => m.name)).rejects.toThrow(/cannot read/);
  });
});
