import { describe, expect, it } from 'vitest';
import { defaultVocabulary, diskImportRequest, emptyDiskForm, validateDiskForm, withKind } from './diskImport';

describe('"Import from disk…" form', () => {
  it('images send the path alone; text kinds need an absolute path', () => {
    expect(diskImportRequest({ ...emptyDiskForm(), path: ' /data/cifar ' })).toEqual({ path: '/data/cifar' });
    expect(validateDiskForm(emptyDiskForm()).path).toMatch(/path/);
    expect(validateDiskForm({ ...emptyDiskForm(), path: 'cifar' })).toEqual({});
    expect(validateDiskForm({ ...emptyDiskForm('text'), path: 'reviews' }).path).toMatch(/absolute/);
    expect(validateDiskForm({ ...emptyDiskForm('text'), path: 'C:\\data\\reviews' })).toEqual({});
  });

  it('labelled text: words by default, the options given, CSV columns trimmed, defaults left to the engine', () => {
    const form = { ...emptyDiskForm('text'), path: '/data/fortunes', splitOnPercent: true, seqLen: '32', vocabSize: ' 2000 ', lowercase: true, name: ' fortunes ' };
    expect(form.tokenizer).toBe('word');
    expect(validateDiskForm(form)).toEqual({});
    expect(diskImportRequest(form)).toEqual({ path: '/data/fortunes', as: 'text', tokenizer: 'word', seqLen: 32, vocabSize: 2000, lowercase: true, splitOnPercent: true, name: 'fortunes' });
    const csv = { ...emptyDiskForm('text'), path: '/data/reviews.csv', textColumn: ' review ', labelColumn: 'sentiment' };
    expect(diskImportRequest(csv)).toEqual({ path: '/data/reviews.csv', as: 'text', tokenizer: 'word', seqLen: 64, textColumn: 'review', labelColumn: 'sentiment' });
    // Lower-casing is for words only; CSV columns for labelled text only.
    expect(diskImportRequest({ ...form, tokenizer: 'char' }).lowercase).toBeUndefined();
    expect(diskImportRequest({ ...withKind(csv, 'corpus') }).textColumn).toBeUndefined();
  });

  it('checks T and the vocabulary', () => {
    const form = { ...emptyDiskForm('text'), path: '/d' };
    expect(validateDiskForm({ ...form, seqLen: '0' }).seqLen).toMatch(/1 to 4,096/);
    expect(validateDiskForm({ ...form, seqLen: '1.5' }).seqLen).toBeTruthy();
    expect(validateDiskForm({ ...form, seqLen: '5000' }).seqLen).toBeTruthy();
    expect(validateDiskForm({ ...withKind(form, 'corpus'), seqLen: '1' }).seqLen).toMatch(/2 to/);
    expect(validateDiskForm({ ...form, vocabSize: '2' }).vocabSize).toBeTruthy();
    expect(validateDiskForm({ ...form, vocabSize: 'many' }).vocabSize).toBeTruthy();
    expect(validateDiskForm({ ...form, vocabSize: '' })).toEqual({});
  });

  it('switching kind keeps the path and name and picks that kind’s tokenizer', () => {
    const text = { ...emptyDiskForm('text'), path: '/d', name: 'n' };
    const corpus = withKind(text, 'corpus');
    expect(corpus).toMatchObject({ kind: 'corpus', path: '/d', name: 'n', tokenizer: 'char' });
    expect(withKind(corpus, 'text').tokenizer).toBe('word');
    expect(withKind(text, 'text')).toBe(text);
    expect(defaultVocabulary('word')).toBe('20,000');
  });
});
