/** Text for models: tokenizers (char, word, byte-level BPE) in the `layerforge-tokenizer` format, and their errors. */
export * from './types';
export { TextError, isTextError, type TextErrorCode, type TextErrorWhere } from './errors';
export { trainTokenizer, encode, decode, vocabSize, tokenString, encodePadded, parseTokenizer, byteIds, BYTE_OFFSET, FIRST_MERGE } from './tokenizer';
export { splitWords, splitChunks, WORD_PATTERN, CHUNK_PATTERN } from './split';
