import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TableError } from '../../../../shared/tables/errors';
import { parseCsv, readCsvFile, sniffDelimiter } from './csv';

const dir = mkdtempSync(join(tmpdir(), 'lf-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The TableError a parse fails with. */
async function failure(input: string | Uint8Array, opts: Parameters<typeof parseCsv>[1] = {}): Promise<TableError> {
  try {
    await parseCsv(input, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(TableError);
    return error as TableError;
  }
  throw new Error('expected a TableError');
}

describe('sniffDelimiter', () => {
  it('finds comma, semicolon, tab and pipe, ignoring delimiters inside quotes', () => {
    expect(sniffDelimiter('a,b,c\n1,2,3\n')).toBe(',');
    expect(sniffDelimiter('a;b\n1,5;2,5\n3,1;4\n')).toBe(';');
    expect(sniffDelimiter('a\tb\n"x,y,z"\t2\n')).toBe('\t');
    expect(sniffDelimiter('a|b|c\n1|2|3\n')).toBe('|');
    expect(sniffDelimiter('name;note\n"Smith, J.";"a, b, c"\n')).toBe(';');
    expect(sniffDelimiter('\ufeffx;y\r\n1;2\r\n')).toBe(';');
    expect(sniffDelimiter('value\n1\n2\n')).toBe(',');
    expect(sniffDelimiter('')).toBe(',');
  });

  it('prefers the delimiter with a consistent count, and ignores a cut last line', () => {
    // The header has one comma and one semicolon; only the semicolon count holds on every row.
    expect(sniffDelimiter('a,b;c\n1;2\n3;4\n')).toBe(';');
    expect(sniffDelimiter('a;b;c\n1;2;3\n4;5', false)).toBe(';');
  });
});

describe('parseCsv', () => {
  it('reads RFC 4180: quoted delimiters, doubled quotes, line breaks in quotes, and numbers the lines', async () => {
    const t = await parseCsv('id,text,n\n1,"a, b",2\n2,"say ""hi""",3\n3,"two\nlines",4\n4,x,5\n');
    expect(t.delimiter).toBe(',');
    expect(t.header).toEqual(['id', 'text', 'n']);
    expect(t.rows).toEqual([['1', 'a, b', '2'], ['2', 'say "hi"', '3'], ['3', 'two\nlines', '4'], ['4', 'x', '5']]);
    expect(t.lines).toEqual([2, 3, 4, 6]);
  });

  it('reads a BOM, CRLF, CR and mixed line ends, blank lines and a missing final line end', async () => {
    const crlf = await parseCsv('\ufeffa;b\r\n1.5;x\r\n\r\n2.5;"y\r\nz"\r\n3;w\r\n');
    expect(crlf).toMatchObject({ delimiter: ';', bom: true, header: ['a', 'b'], rows: [['1.5', 'x'], ['2.5', 'y\r\nz'], ['3', 'w']], lines: [2, 4, 6] });
    const cr = await parseCsv('a,b\r1,2\r3,4');
    expect(cr.rows).toEqual([['1', '2'], ['3', '4']]);
    const mixed = await parseCsv('a,b\n1,2\r\n3,4\r5,6\n\n');
    expect(mixed.rows).toEqual([['1', '2'], ['3', '4'], ['5', '6']]);
    expect(mixed.lines).toEqual([2, 3, 4]);
  });

  it('skips blank lines before the header, however many', async () => {
    const t = await parseCsv(`${'\n'.repeat(70_000)}a,b\n1,2\n`);
    expect(t).toMatchObject({ header: ['a', 'b'], rows: [['1', '2']], lines: [70_002] });
  });

  it('reads tab- and pipe-separated text and trims header names', async () => {
    expect((await parseCsv(' a \t b\n1\t2\n')).header).toEqual(['a', 'b']);
    expect((await parseCsv('a|b\n1|2\n')).rows).toEqual([['1', '2']]);
  });

  it('keeps a stray quote inside an unquoted field as text', async () => {
    expect((await parseCsv('h,w\n5\'10",2\n')).rows).toEqual([['5\'10"', '2']]);
  });

  it('names the line of a ragged row', async () => {
    const e = await failure('a,b,c,d\n' + '1,2,3,4\n'.repeat(15) + '1,2,3,4,5\n');
    expect(e.code).toBe('ragged-row');
    expect(e.line).toBe(17);
    expect(e.message).toBe('line 17 has 5 fields, the header has 4 (delimiter: comma).');
    const short = await failure('a,b\n1,2\n"x\ny"\n');
    expect(short.message).toMatch(/^line 3 has 1 field, the header has 2/);
  });

  it('names the line where an unterminated quote opens', async () => {
    const e = await failure('a,b\n1,2\n3,"4\n5,6\n7,8\n');
    expect(e).toMatchObject({ code: 'unterminated-quote', line: 3, column: 'b' });
    expect(e.message).toMatch(/^line 3, column 'b': a quoted field is never closed/);
  });

  it('keeps text after a closing quote literally (relaxed quotes), so a row still has its fields', async () => {
    expect((await parseCsv('a,b\n"x" ,2\n"x"y,3\n')).rows).toEqual([['"x" ', '2'], ['"x"y', '3']]);
  });

  it('refuses empty files, header-only files, and empty or duplicate header names', async () => {
    expect((await failure('')).code).toBe('empty-file');
    expect((await failure('\n\n  \n')).code).toBe('empty-file');
    expect((await failure('\ufeff')).code).toBe('empty-file');
    const headerOnly = await failure('a,b\n\n');
    expect(headerOnly).toMatchObject({ code: 'no-data-rows', message: 'the input has a header (2 columns: a, b) but no data rows.' });
    expect((await failure('a,,b\n1,2,3\n')).message).toBe('line 1: column 2 of the header has no name.');
    expect((await failure('a,b,\n1,2,3\n')).message).toMatch(/a delimiter at the end of the header line\?/);
    expect((await failure(',a\n0,1\n')).message).toMatch(/unnamed index column/);
    const dup = await failure('x,y, x\n1,2,3\n');
    expect(dup).toMatchObject({ code: 'duplicate-header', column: 'x', line: 1 });
    expect(dup.message).toBe("line 1: the column name 'x' appears twice (columns 1 and 3); column names must be unique.");
  });

  it('refuses binary input: NUL bytes, invalid UTF-8, UTF-16', async () => {
    const nul = await failure(Buffer.from('a,b\n1,2\n3,\u0000\n'));
    expect(nul).toMatchObject({ code: 'not-text', line: 3 });
    expect(nul.message).toMatch(/a NUL byte at byte 11 \(line 3\)/);
    const latin1 = await failure(Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x2c, 0x31, 0x0a]));
    expect(latin1).toMatchObject({ code: 'not-text', line: 2 });
    expect(latin1.message).toMatch(/not UTF-8 at byte 8/);
    const utf16 = await failure(Buffer.from('\ufeffa,b\n1,2\n', 'utf16le'));
    expect(utf16.message).toMatch(/UTF-16/);
    const cut = await failure(Buffer.from([0x61, 0x0a, 0x62, 0xc3]));
    expect(cut.message).toMatch(/ends inside a UTF-8 character/);
  });

  it('accepts multi-byte characters split across chunks', async () => {
    const text = `name,city\n${'x'.repeat(256 * 1024 - 11)}é,Zürich\n`;
    const t = await parseCsv(text);
    expect(t.rows[0]![1]).toBe('Zürich');
  });

  it('refuses absurd inputs with limits instead of hanging', async () => {
    const wide = await failure(`${'c,'.repeat(999_999)}c\n1\n`);
    const started = Date.now();
    // The column guard looks at the header only: a wide data row is a ragged row.
    expect(await failure(`a,b\n${'x,'.repeat(30_000)}`, { limits: { maxColumns: 100, maxRecordChars: 100_000 } })).toMatchObject({ code: 'ragged-row', message: 'line 2 has 30,001 fields, the header has 2 (delimiter: comma).' });
    expect(await failure(`${'c,'.repeat(20_000)}c`, { limits: { maxColumns: 100, maxRecordChars: 10_000 } })).toMatchObject({ code: 'too-many-columns', message: expect.stringMatching(/has more than [\d,]+ columns; at most 100/) });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(wide).toMatchObject({ code: 'too-many-columns', message: 'line 1: the header has 1,000,000 columns; at most 10,000 are supported.' });
    const long = await failure(`a,b\n1,${'x'.repeat(2000)}\n`, { limits: { maxFieldChars: 1000 } });
    expect(long).toMatchObject({ code: 'field-too-long', line: 2, column: 'b' });
    expect(long.message).toBe("line 2, column 'b': the value has 2,000 characters; at most 1,000.");
    const runaway = await failure(`a,b\n1,"${'x'.repeat(5000)}`, { limits: { maxRecordChars: 1000 } });
    expect(runaway).toMatchObject({ code: 'field-too-long', line: 2 });
    const many = await failure('a,b\n' + '1,2\n'.repeat(100), { limits: { maxValues: 50 } });
    expect(many).toMatchObject({ code: 'too-many-values' });
  });
});

describe('readCsvFile', () => {
  it('reads a file by streaming and checks its size first', async () => {
    const file = join(dir, 'small.csv');
    writeFileSync(file, 'a,b\n1,2\n');
    expect((await readCsvFile(file)).rows).toEqual([['1', '2']]);
    await expect(readCsvFile(file, { limits: { maxFileBytes: 4 } })).rejects.toMatchObject({ code: 'file-too-large' });
    await expect(readCsvFile(join(dir, 'none.csv'))).rejects.toMatchObject({ code: 'unreadable', message: expect.stringMatching(/does not exist/) });
    await expect(readCsvFile(dir)).rejects.toMatchObject({ code: 'unreadable', message: expect.stringMatching(/is not a file/) });
    writeFileSync(join(dir, 'empty.csv'), '');
    await expect(readCsvFile(join(dir, 'empty.csv'))).rejects.toMatchObject({ code: 'empty-file', message: expect.stringMatching(/^empty\.csv is empty/) });
  });

  it('numbers lines across many chunks', async () => {
    const file = join(dir, 'big.csv');
    const rows = Array.from({ length: 60_000 }, (_, i) => `${i},"v${i}\nmore"`);
    writeFileSync(file, `n,text\n${rows.join('\n')}\n1,2,3\n`);
    const e = await readCsvFile(file).catch((x: unknown) => x as TableError);
    expect(e).toMatchObject({ code: 'ragged-row', line: 2 + 60_000 * 2 });
  });
});
