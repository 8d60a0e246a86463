/**
 * What every export of a text model (a model folder with a tokenizer) writes besides the model: the
 * tokenizer (`tokenizer.json`, the layerforge-tokenizer JSON, verbatim) and a README section saying how a
 * text becomes the model's input (tokenizer kind, vocabulary, PAD/OOV, T, padding at the end) and what its
 * output means, with code in the format's own language: a complete encoder written from the JSON (plain
 * Python for ONNX, PyTorch and Keras; JavaScript for tfjs) and a classification or a generation loop.
 * textExport.test.ts runs that code against shared/text's encode and the trained model.
 */
import { writeFile } from 'node:fs/promises';
import { CHUNK_PATTERN, FIRST_MERGE, OOV_ID, PAD_ID, WORD_PATTERN, type Tokenizer } from '../../../shared/text';
import type { ExportGraph, TextInput } from './exportGraph';

export type TextCodeFormat = 'tfjs' | 'onnx' | 'pytorch' | 'keras';

/** tokenizer.json as written beside every export (the same JSON as in the model folder). */
export function tokenizerJson(tok: Tokenizer): string {
  return JSON.stringify(tok);
}

export async function writeTokenizerJson(path: string, tok: Tokenizer): Promise<void> {
  await writeFile(path, tokenizerJson(tok));
}

/** The texts the README's classifier code runs on, and the prompt and length of its generation example. */
export const SAMPLE_TEXTS = ['The program crashed again after the update.', 'Nothing tastes better than fresh bread.'];
export const SAMPLE_PROMPT = 'The computer ';
export const SAMPLE_NEW_TOKENS = 40;

const pyStr = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
const jsStr = pyStr;
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

/**
 * JavaScript's `\s` (WhiteSpace and LineTerminator), written out for Python's `re`, whose `\s` differs
 * (it adds U+001C–U+001F and U+0085, and lacks U+FEFF).
 */
const JS_SPACE = String.raw`\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff`;

/** Python building \p{L}, \p{M}, \p{N} (JavaScript's Unicode property classes) from unicodedata, for `re`. */
const PY_UNICODE_CLASSES = String.raw`def _unicode_classes():
    r"""Python's re has no \p{L}, \p{M}, \p{N}: build them (character-class ranges) from unicodedata's general categories."""
    runs, start, prev = {'L': [], 'M': [], 'N': []}, 0, None
    for c in range(sys.maxunicode + 2):
        k = unicodedata.category(chr(c))[0] if c <= sys.maxunicode else None
        if k != prev:
            if prev in runs:
                runs[prev].append(re.escape(chr(start)) + ('-' + re.escape(chr(c - 1)) if c - 1 > start else ''))
            start, prev = c, k
    return {k: ''.join(v) for k, v in runs.items()}


U = _unicode_classes()  # a fraction of a second, once
SPACE = r'${JS_SPACE}'  # JavaScript's \s (Python's differs slightly)`;

/**
 * Python (json, re, sys, unicodedata only) that reads `file` and defines encode(text) -> ids exactly as
 * shared/text's encode does, encode_padded(text) -> T ids, and with `withDecode` decode(ids) -> text.
 */
export function pythonTokenizer(tok: Tokenizer, file: string, T: number, withDecode = false): string {
  const head = `with open(${pyStr(file)}, encoding='utf-8') as f:
    tok = json.load(f)
T, PAD = ${T}, ${PAD_ID}  # the model reads rows of T ids; PAD fills a row after the text`;
  let body: string;
  let decode = '';
  let imports = 'import json';
  if (tok.kind === 'char') {
    body = `ID = {t: i for i, t in enumerate(tok['tokens']) if i > ${OOV_ID}}


def encode(text):
    """One id per character (code point); a character the tokenizer does not know is OOV (${OOV_ID})."""
    return [ID.get(ch, ${OOV_ID}) for ch in text]`;
    decode = `def decode(ids):
    """The text of ids (PAD skipped, OOV as U+FFFD)."""
    return ''.join(tok['tokens'][i] if ${OOV_ID} < i < len(tok['tokens']) else '\\ufffd' for i in ids if i != PAD)`;
  } else if (tok.kind === 'word') {
    imports = 'import json\nimport re\nimport sys\nimport unicodedata';
    body = `${PY_UNICODE_CLASSES}
ID = {t: i for i, t in enumerate(tok['tokens']) if i > ${OOV_ID}}
_W = U['L'] + U['M'] + U['N'] + '_'
WORDS = re.compile('[' + _W + "]+(?:['\\u2019][" + _W + ']+)*|[^' + SPACE + _W + ']')  # 'words-v1'


def encode(text):
    """Lower-cased when the tokenizer says so, split into words ('words-v1'), each looked up; unknown words are OOV (${OOV_ID})."""
    if tok['lowercase']:
        text = text.lower()
    return [ID.get(w, ${OOV_ID}) for w in WORDS.findall(text)]`;
    decode = `def decode(ids):
    """The words of ids joined by spaces (lossy: the split dropped the spacing; PAD skipped, OOV as <unk>)."""
    return ' '.join(tok['tokens'][i] if ${OOV_ID} < i < len(tok['tokens']) else '<unk>' for i in ids if i != PAD)`;
  } else {
    imports = 'import json\nimport re\nimport sys\nimport unicodedata';
    body = `${PY_UNICODE_CLASSES}
_L, _N = U['L'], U['N']
CHUNKS = re.compile(  # 'chunks-v1': GPT-2's pattern, runs capped at 64 characters
    "'(?:[sdmt]|ll|ve|re)| ?[" + _L + "]{1,64}| ?[" + _N + "]{1,64}| ?[^" + SPACE + _L + _N + "]{1,64}"
    "|[" + SPACE + "]{1,64}(?![^" + SPACE + "])|[" + SPACE + "]{1,64}"
)
RANK = {}
for _i, (_a, _b) in enumerate(tok['merges']):
    RANK.setdefault((_a, _b), _i)
_cache = {}


def _encode_chunk(chunk):
    """The chunk's UTF-8 bytes as ids (byte + 1); then, while some adjacent pair is a merge, the pair with the
    lowest merge index i becomes id ${FIRST_MERGE} + i, everywhere left to right."""
    if chunk in _cache:
        return _cache[chunk]
    ids = [b + 1 for b in chunk.encode('utf-8')]
    while len(ids) > 1:
        ranks = [RANK[p] for p in zip(ids, ids[1:]) if p in RANK]
        if not ranks:
            break
        r = min(ranks)
        a, b = tok['merges'][r]
        out, j = [], 0
        while j < len(ids):
            if j + 1 < len(ids) and ids[j] == a and ids[j + 1] == b:
                out.append(${FIRST_MERGE} + r)
                j += 2
            else:
                out.append(ids[j])
                j += 1
        ids = out
    _cache[chunk] = ids
    return ids


def encode(text):
    """Byte-level BPE: the text's chunks, each encoded on its own (every text encodes: there is no OOV)."""
    return [i for m in CHUNKS.finditer(text) for i in _encode_chunk(m.group())]`;
    decode = `BYTES = [b''] + [bytes([b]) for b in range(256)]
for _a, _b in tok['merges']:
    BYTES.append(BYTES[_a] + BYTES[_b])


def decode(ids):
    """The bytes of ids read as UTF-8 (PAD is empty)."""
    return b''.join(BYTES[i] for i in ids if i < len(BYTES)).decode('utf-8', 'replace')`;
  }
  return `${imports}

import numpy as np

${head}${tok.kind === 'char' ? '\n' : '\n\n\n'}${body}


def encode_padded(text):
    """Exactly T ids, as in training: the text's first T ids, then PAD up to T (padding at the end)."""
    ids = encode(text)[:T]
    return ids + [PAD] * (T - len(ids))
${withDecode ? `\n\n${decode}\n` : ''}`;
}

/** JavaScript that defines encode(text) -> ids exactly as shared/text's encode does (and decode(ids) with `withDecode`), from `tok` (the parsed tokenizer.json). */
export function jsTokenizer(tok: Tokenizer, withDecode = false): string {
  if (tok.kind === 'char' || tok.kind === 'word') {
    const lookup = `const ID = new Map(tok.tokens.map((t, i) => [t, i]).filter(([, i]) => i > ${OOV_ID}));`;
    const enc =
      tok.kind === 'char'
        ? `const encode = (text) => [...text].map((ch) => ID.get(ch) ?? ${OOV_ID});  // one id per character (code point); unknown: OOV`
        : `const WORDS = /${WORD_PATTERN.source}/gu;  // 'words-v1'
const encode = (text) => ((tok.lowercase ? text.toLowerCase() : text).match(WORDS) ?? []).map((w) => ID.get(w) ?? ${OOV_ID});  // unknown words: OOV`;
    const dec = `const decode = (ids) => ids.filter((i) => i !== PAD).map((i) => (i > ${OOV_ID} && i < tok.tokens.length ? tok.tokens[i] : '${tok.kind === 'char' ? '\\uFFFD' : '<unk>'}')).join('${tok.kind === 'char' ? '' : ' '}');`;
    return `${lookup}\n${enc}${withDecode ? `\n${dec}` : ''}`;
  }
  return `const CHUNKS = /${CHUNK_PATTERN.source}/gu;  // 'chunks-v1'
const RANK = new Map();
tok.merges.forEach(([a, b], i) => RANK.has(\`\${a},\${b}\`) || RANK.set(\`\${a},\${b}\`, i));
function encodeChunk(chunk) {  // UTF-8 bytes as ids (byte + 1), then the lowest-index merge, everywhere, until none applies
  let ids = [...new TextEncoder().encode(chunk)].map((b) => b + 1);
  for (;;) {
    let r = Infinity;
    for (let j = 0; j + 1 < ids.length; j++) r = Math.min(r, RANK.get(\`\${ids[j]},\${ids[j + 1]}\`) ?? Infinity);
    if (r === Infinity) return ids;
    const [a, b] = tok.merges[r];
    const out = [];
    for (let j = 0; j < ids.length; j++) {
      if (j + 1 < ids.length && ids[j] === a && ids[j + 1] === b) { out.push(${FIRST_MERGE} + r); j++; } else out.push(ids[j]);
    }
    ids = out;
  }
}
const encode = (text) => (text.match(CHUNKS) ?? []).flatMap(encodeChunk);${
    withDecode
      ? `
const BYTES = [[], ...Array.from({ length: 256 }, (_, b) => [b])];
for (const [a, b] of tok.merges) BYTES.push([...BYTES[a], ...BYTES[b]]);
const decode = (ids) => new TextDecoder().decode(Uint8Array.from(ids.flatMap((i) => BYTES[i] ?? [])));`
      : ''
  }`;
}

/** Python that turns the model's scores at one position into the next id (greedy, or sampled with a temperature). */
function pythonTail(t: TextInput): string {
  if (t.head === 'classifier') {
    return `CLASSES = [${t.classes!.map(pyStr).join(', ')}]
texts = [${SAMPLE_TEXTS.map(pyStr).join(', ')}]
probs = run([encode_padded(text) for text in texts])  # [N, ${t.classes!.length}]${t.activation === 'softmax' ? ' probabilities' : ' scores'}
for text, p in zip(texts, probs):
    print(CLASSES[int(p.argmax())], text)`;
  }
  if (t.head === 'language-model') {
    const scores = t.activation === 'softmax' ? 'np.log(run([window + [PAD] * (T - len(window))])[0, len(window) - 1].astype(np.float64) + 1e-9)  # the output is softmax probabilities' : 'run([window + [PAD] * (T - len(window))])[0, len(window) - 1].astype(np.float64)  # logits';
    return `def generate(prompt, n=${SAMPLE_NEW_TOKENS}, temperature=0.0, seed=0):
    """Continues prompt by n tokens: the last T ids, padded at the end (the attention is causal, so the padding
    changes nothing before it), and the scores at the last real position; greedy, or sampled when temperature > 0."""
    rng = np.random.default_rng(seed)
    ids = encode(prompt) or [PAD]
    start = len(ids)
    for _ in range(n):
        window = ids[-T:]
        s = ${scores}
        if temperature > 0:
            p = np.exp((s - s.max()) / temperature)
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
        else:
            ids.append(int(s.argmax()))
    return ids[start:]


new_ids = generate(${pyStr(SAMPLE_PROMPT)})
print(decode(new_ids))`;
  }
  return `y = run([encode_padded(${pyStr(SAMPLE_TEXTS[0]!)})])
print(y.shape, y)`;
}

function jsTail(t: TextInput): string {
  if (t.head === 'classifier') {
    return `const CLASSES = [${t.classes!.map(jsStr).join(', ')}];
const texts = [${SAMPLE_TEXTS.map(jsStr).join(', ')}];
const probs = run(texts.map(encodePadded));
texts.forEach((text, i) => console.log(CLASSES[probs[i].indexOf(Math.max(...probs[i]))], text));`;
  }
  if (t.head === 'language-model') {
    return `function generate(prompt, n = ${SAMPLE_NEW_TOKENS}) {  // greedy: the most likely next token each time
  const ids = encode(prompt);
  if (!ids.length) ids.push(PAD);
  const start = ids.length;
  for (let k = 0; k < n; k++) {
    const window = ids.slice(-T);  // the last T ids, padded at the end; read the scores at the last real position
    const scores = run([[...window, ...new Array(T - window.length).fill(PAD)]])[0][window.length - 1];
    ids.push(scores.indexOf(Math.max(...scores)));
  }
  return ids.slice(start);
}
const newIds = generate(${jsStr(SAMPLE_PROMPT)});
console.log(decode(newIds));`;
  }
  return `console.log(run([encodePadded(${jsStr(SAMPLE_TEXTS[0]!)})]));`;
}

/** The code block of the README: encoder + model + classification / generation, in the format's language. */
export function textCode(g: ExportGraph, format: TextCodeFormat, fileStem = 'model'): { lang: string; text: string } {
  const t = g.text!;
  const lm = t.head === 'language-model';
  if (format === 'tfjs') {
    return {
      lang: 'js',
      text: `import * as tf from '@tensorflow/tfjs';  // in Node: '@tensorflow/tfjs-node' and 'file://…' paths

const tok = await (await fetch('tokenizer.json')).json();
const model = await tf.loadLayersModel('model.json');
const T = ${t.length}, PAD = ${PAD_ID};  // the model reads rows of T ids; PAD fills a row after the text
${jsTokenizer(t.tokenizer, lm)}
const encodePadded = (text) => { const ids = encode(text).slice(0, T); return [...ids, ...new Array(T - ids.length).fill(PAD)]; };
const run = (rows) => tf.tidy(() => model.predict(tf.tensor2d(rows, [rows.length, T], 'int32')).arraySync());

${jsTail(t)}`,
    };
  }
  const file = format === 'onnx' ? `${fileStem}.tokenizer.json` : 'tokenizer.json';
  const model =
    format === 'onnx'
      ? `import onnxruntime as ort

session = ort.InferenceSession(${pyStr(`${fileStem}.onnx`)})


def run(rows):
    """Rows of T ids -> the model's output (numpy)."""
    return session.run(None, {${pyStr(t.input)}: np.array(rows, dtype=np.int32)})[0]`
      : format === 'pytorch'
        ? `import torch
from model import load

model = load().eval()


def run(rows):
    """Rows of T ids -> the model's output (numpy)."""
    with torch.no_grad():
        return model(torch.tensor(rows)).numpy()`
        : `from model import load

model = load()


def run(rows):
    """Rows of T ids -> the model's output (numpy)."""
    return np.asarray(model.predict(np.array(rows, dtype=np.int32), verbose=0))`;
  return { lang: 'python', text: `${pythonTokenizer(t.tokenizer, file, t.length, lm)}\n\n${model}\n\n\n${pythonTail(t)}` };
}

const KIND_TEXT: Record<Tokenizer['kind'], string> = {
  char: 'one id per character (Unicode code point, not UTF-16 unit)',
  word: 'one id per word',
  bpe: 'byte-level byte-pair encoding',
};

function howItWorks(tok: Tokenizer): string {
  if (tok.kind === 'char') {
    return `Each character (code point) of the text is looked up in \`tokens\`: its index there is its id; a character not in the list becomes OOV (${OOV_ID}).`;
  }
  if (tok.kind === 'word') {
    return `The text is ${tok.lowercase ? 'lower-cased, then ' : ''}split into words by \`words-v1\`, ${code(`/${WORD_PATTERN.source}/gu`)} (runs of
letters, marks, digits and \`_\` with apostrophes inside, or any other single non-space character); each word is looked
up in \`tokens\` (its index there is its id); a word not in the list becomes OOV (${OOV_ID}). \`lowercase\` is ${tok.lowercase ? 'true' : 'false'}.`;
  }
  return `The text is cut into chunks by \`chunks-v1\`, ${code(`/${CHUNK_PATTERN.source}/gu`)} (GPT-2's
pattern, runs capped at 64 characters). Each chunk's UTF-8 bytes b become ids b + 1 (1 … 256); then, while some
adjacent pair of the chunk is in \`merges\`, the pair with the lowest index i (\`merges[i] = [a, b]\`) is replaced,
everywhere in the chunk from left to right, by id ${FIRST_MERGE} + i. Every text encodes (there is no OOV), and the bytes of
the ids give the text back exactly.`;
}

function outputText(g: ExportGraph, t: TextInput): string {
  const out = g.layers.find((l) => l.name === t.output)!;
  if (t.head === 'classifier') {
    const list = t.classes!.map((c, i) => `${i} ${code(c)}`).join(', ');
    return `float32 [N, ${t.classes!.length}], ${t.activation === 'softmax' ? 'probabilities' : 'scores'}, one per class in this order: ${list}; the largest is the prediction.`;
  }
  if (t.head === 'language-model') {
    return `float32 [N, ${t.length}, ${out.outputShape[1]}]: row t holds the ${t.activation === 'softmax' ? 'probabilities' : 'logits (scores before a softmax)'} of the token
that follows position t. The attention is causal: row t depends on ids 0 … t only, so the padding after a text changes
nothing before it. To continue a text: encode it, take its last T ids, pad them at the end to T, run the model and read the
row of the last real id (number of real ids − 1); append the chosen id (the largest score, or one sampled) and repeat.`;
  }
  return `float32 [N, ${out.outputShape.join(', ')}].`;
}

/**
 * The README section of a text model's export: the tokenizer (kind, vocabulary, PAD/OOV), T and the padding,
 * the output, and code in the format's language that encodes a text and runs the model. `fileStem` names the
 * ONNX file ('model' for model.onnx).
 */
export function textReadme(g: ExportGraph, format: TextCodeFormat, fileStem = 'model'): string {
  const t = g.text;
  if (!t) return '';
  const tok = t.tokenizer;
  const file = format === 'onnx' ? `${fileStem}.tokenizer.json` : 'tokenizer.json';
  const run = textCode(g, format, fileStem);
  const python = format !== 'tfjs' && tok.kind !== 'char';
  const trained = tok.trainedOn ? ` (trained on ${tok.trainedOn.texts} texts, ${tok.trainedOn.chars} characters)` : '';
  const customLayers = g.layers.some((l) => l.type === 'MultiHeadAttention' || l.type === 'PositionalEmbedding');
  return `## Text input: the tokenizer

The model reads **token ids**; ${code(file)} beside this file turns text into them: the dataset's tokenizer${trained},
in Layerforge's \`layerforge-tokenizer\` JSON format (version 1), the same file as in the model folder.

| | |
|---|---|
| tokenizer | \`${tok.kind}\`: ${KIND_TEXT[tok.kind]} |
| vocabulary | ${t.vocabSize} ids, 0 … ${t.vocabSize - 1}${tok.kind === 'bpe' ? ` (PAD, 256 bytes, ${tok.merges.length} merges)` : ` (\`tokens[id]\` is the token's text)`} |
| PAD | id ${PAD_ID} (\`<pad>\`): what rows are padded with |
| OOV | ${tok.kind === 'bpe' ? 'none: byte-level, every text encodes' : `id ${OOV_ID} (\`<unk>\`): any ${tok.kind === 'char' ? 'character' : 'word'} the training texts did not have`} |
| T | ${t.length} ids per row: input ${code(t.input)}, int32 [N, ${t.length}] |
| padding | a text is cut after its first ${t.length} ids, or padded **at the end** with PAD (${PAD_ID}) up to ${t.length}, as in training |

${howItWorks(tok)}

**Output ${code(t.output)}**: ${outputText(g, t)}

${format === 'tfjs' ? 'Encode' : 'In plain Python (the encoder is written out from the JSON, no Layerforge needed): encode'} ${t.head === 'language-model' ? 'a prompt and generate a continuation' : t.head === 'classifier' ? 'texts and classify them' : 'a text and run the model'}:

\`\`\`${run.lang}
${run.text}
\`\`\`
${
  python
    ? `
Python's \`re\` has no \`\\p{L}\`, \`\\p{M}\`, \`\\p{N}\` classes, so the code builds them from \`unicodedata\` (the same
Unicode general categories, built once in a fraction of a second; the \`regex\` package is not needed) and writes JavaScript's \`\\s\`
out (Python's also matches U+001C–U+001F and U+0085, and not U+FEFF). The ids are the same as Layerforge's, except for
characters newer than your Python's Unicode database (Python 3.11 has Unicode 14), which it does not know as letters or digits.
`
    : ''
}${
  format === 'tfjs' && customLayers
    ? `
This model uses Layerforge's own \`MultiHeadAttention\` / \`PositionalEmbedding\` layers: register their classes
(\`tf.serialization.registerClass\`) before \`tf.loadLayersModel\`.
`
    : ''
}`;
}

/** One line for ExportResult.notes. */
export function textNote(g: ExportGraph, file = 'tokenizer.json', readme = 'README.md'): string {
  const t = g.text!;
  return `Text model: ${file} (${t.tokenizer.kind} tokenizer, ${t.vocabSize} ids, PAD ${PAD_ID}) turns text into the ${t.length} ids it reads, padded at the end; see ${readme}.`;
}
