import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTextError, type TextError } from '../../../../shared/text/errors';
import { decodeText, firstInvalidUtf8, lineAndColumn, splitFortunes } from './read';

const fixture = (name: string) => new URL(`../../../../resources/fixtures/text/${name}`, import.meta.url).pathname;

function errorOf(f: () => unknown): TextError {
  try {
    f();
  } catch (error) {
    if (isTextError(error)) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('decodeText', () => {
  it('names the file, byte offset, line and column of invalid UTF-8 (a Latin-1 é)', () => {
    const e = errorOf(() => decodeText(readFileSync(fixture('messy/latin1.txt')), 'messy/latin1.txt'));
    expect(e).toMatchObject({ code: 'not-utf8', file: 'messy/latin1.txt', offset: 25, line: 2, column: 4 });
    expect(e.message).toBe('messy/latin1.txt is not UTF-8 text: byte 0xE9 at byte offset 25 (line 2, column 4) does not start or continue a UTF-8 character (Latin-1 or Windows-1252 text?). Save it as UTF-8 and import it again.');
  });

  it('refuses UTF-16, NUL bytes, empty and blank files, each naming the file', () => {
    expect(errorOf(() => decodeText(readFileSync(fixture('messy/utf16.txt')), 'u.txt'))).toMatchObject({ code: 'not-text', message: expect.stringMatching(/^u\.txt is UTF-16 text/) });
    expect(errorOf(() => decodeText(Buffer.from('ab\ncd\0e'), 'bin'))).toMatchObject({ code: 'not-text', offset: 5, line: 2, column: 3, message: 'bin is not a text file: a NUL byte at byte offset 5 (line 2, column 3).' });
    expect(errorOf(() => decodeText(readFileSync(fixture('messy/empty.txt')), 'e.txt'))).toMatchObject({ code: 'empty-file', message: 'e.txt is empty (0 bytes).' });
    expect(errorOf(() => decodeText(readFileSync(fixture('messy/blank.txt')), 'b.txt'))).toMatchObject({ code: 'empty-file', message: 'b.txt holds no text (only whitespace).' });
  });

  it('drops a BOM, turns CRLF and CR into LF, refuses a line over the limit with its number', () => {
    expect(decodeText(readFileSync(fixture('messy/bom-crlf.txt')), 'x')).toBe('First line\nSecond line\n%\nAnother entry\n');
    expect(decodeText(Buffer.from('a\rb'), 'x')).toBe('a\nb');
    const e = errorOf(() => decodeText(Buffer.from(`short\n${'y'.repeat(101)}\nshort`), 'long.txt', { maxLineChars: 100 }));
    expect(e).toMatchObject({ code: 'line-too-long', line: 2, message: 'long.txt, line 2: the line has more than 100 characters (a binary file, or text without line breaks?).' });
  });

  it('an invalid sequence at the very end (a cut character) is found too', () => {
    const b = Buffer.concat([Buffer.from('ok \u00e9'), Buffer.from([0xe2, 0x82])]);
    expect(errorOf(() => decodeText(b, 'cut'))).toMatchObject({ code: 'not-utf8', offset: 5 });
  });
});

describe('firstInvalidUtf8', () => {
  it('agrees with a strict TextDecoder on any bytes', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xc0, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0x80, 0xbf, 0xa0, 0x9f, 0x8f, 0x90)), { maxLength: 12 }), (bytes) => {
        const b = Uint8Array.from(bytes);
        let ok = true;
        try {
          strict.decode(b);
        } catch {
          ok = false;
        }
        expect(firstInvalidUtf8(b) === -1).toBe(ok);
      }),
      { numRuns: 3000 },
    );
    expect(firstInvalidUtf8(Buffer.from('a\u00e9\u65e5\ud83d\ude00'))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xed, 0xa0, 0x80]))).toBe(1); // a surrogate
    expect(firstInvalidUtf8(Uint8Array.from([0xc0, 0x80]))).toBe(0); // overlong
  });

  it('lineAndColumn counts LF, CRLF and CR', () => {
    expect(lineAndColumn(Buffer.from('ab\r\ncd\ref\ng'), 10)).toEqual({ line: 4, column: 1 });
  });
});

describe('splitFortunes', () => {
  it('entries between % lines, with the line each starts on; empty entries counted', () => {
    const { entries, empty } = splitFortunes('\nfirst\n  indented\n%\n%\n\n\nsecond\n%\nthird\n%\n');
    expect(entries).toEqual([
      { text: 'first\n  indented', line: 2 },
      { text: 'second', line: 8 },
      { text: 'third', line: 10 },
    ]);
    expect(empty).toBe(1);
    expect(splitFortunes('%\nonly\n').entries).toEqual([{ text: 'only', line: 2 }]);
    expect(splitFortunes('%\nonly\n').empty).toBe(0);
    expect(splitFortunes('a % b\n%%\n').entries).toEqual([{ text: 'a % b\n%%', line: 1 }]);
  });
});
