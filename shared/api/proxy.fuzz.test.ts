/**
 * Fuzz: the engine API proxy (serveApi over the in-process transport) under thousands of malformed
 * messages and requests. Every request gets exactly one reply (a typed error unless the request was
 * valid), only schema-valid arguments ever reach the implementation, the connection keeps working, and a
 * valid request right after each batch succeeds.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMutations, FuzzTally, mutationPlans, nastyValue } from '../../scripts/security/fuzz';
import { defaultTrainingSettings, parseProjectText } from '../project';
import { parse } from '../schema';
import { ENGINE_EVENTS, ENGINE_REQUESTS } from './engine';
import { inProcessPair, serveApi, type ApiErrorCode, type Message } from './proxy';
import { ENGINE_SCHEMAS, ENGINE_SPEC } from './schemas';

const tally = new FuzzTally('engine API requests (in-process proxy)');
afterAll(() => tally.report());

const template = parseProjectText(readFileSync(new URL('../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8'));

/** A valid argument for every request (undefined: takes none). */
const VALID: Record<(typeof ENGINE_REQUESTS)[number], unknown> = {
  getInfo: undefined,
  listBackends: undefined,
  listDatasets: undefined,
  prepareDataset: { id: 'cifar10' },
  cancelDatasetPreparation: { id: 'cifar10' },
  importDataset: { path: '/data/pets', as: 'folder', name: 'pets' },
  datasetPreview: { id: 'cifar10', perClass: 4 },
  previewTable: { path: '/data/iris.csv', target: 'species', rows: 5 },
  startTraining: { graph: template.graph, datasetId: 'cifar10', settings: defaultTrainingSettings(), maxTrainSamples: 100 },
  stopTraining: { runId: 'run-1' },
  pauseTraining: { runId: 'run-1' },
  resumeTraining: { runId: 'run-1' },
  listRuns: undefined,
  getRun: { runId: 'run-1' },
  deleteRun: { runId: 'run-1' },
  evaluate: { runId: 'run-1' },
  predict: { runId: 'run-1', count: 8, misclassifiedFirst: false },
  predictRows: { runId: 'run-1', rows: [{ age: '42', sex: 'F' }], maxRows: 10 },
  predictText: { runId: 'run-1', texts: ['What a lovely day.', ''] },
  generateText: { runId: 'run-1', prompt: 'The ', tokens: 50, temperature: 0.8, topK: 10, seed: 3, requestId: 'gen-1' },
  stopGeneration: { requestId: 'gen-1' },
  attentionMap: { runId: 'run-1', text: 'The cat sat.', maxTokens: 64 },
  getSample: { runId: 'run-1', sample: 3 },
  activations: { runId: 'run-1', sample: 3, nodeId: 'conv1', maxChannels: 16 },
  explain: { runId: 'run-1', sample: 3, method: 'gradcam', classIndex: 2, nodeId: 'conv2' },
  trainingHealth: { runId: 'run-1' },
  embeddings: { runId: 'run-1', method: 'umap', samples: 500, nodeId: 'dense1' },
  confusionSamples: { runId: 'run-1', actual: 3, predicted: 5, limit: 24 },
  exportModel: { runId: 'run-1', format: 'onnx', outPath: '/tmp/out.onnx' },
  prepareDownload: { kind: 'run', runId: 'run-1' },
  importModel: { path: '/tmp/model.json' },
  listProjects: undefined,
  saveProject: { text: JSON.stringify(template), name: 'my-net.json', overwrite: true },
  openProject: { name: 'my-net.json' },
  saveProjectAs: { text: JSON.stringify(template), suggestedName: 'my-net.json' },
  openProjectDialog: undefined,
  chooseDataFile: { kind: 'table' },
  saveRecovery: { key: 'tab-1234', text: JSON.stringify(template), sourcePath: null },
  listRecovery: undefined,
  discardRecovery: { key: 'tab-1234' },
};

const ERROR_CODES: ApiErrorCode[] = ['bad-request', 'unknown-method', 'not-found', 'busy', 'failed', 'disconnected', 'too-large'];

/** An engine that records what reaches it; some methods throw, like a real one would. */
function recordingEngine() {
  const calls: { method: string; arg: unknown }[] = [];
  const impl: Record<string, unknown> = {};
  for (const m of ENGINE_REQUESTS) {
    impl[m] = async (arg: unknown) => {
      calls.push({ method: m, arg });
      if (m === 'getRun') throw new Error('no such run');
      if (m === 'deleteRun') throw 'a thrown string';
      return m === 'getInfo' ? { version: 'fuzz', dataDir: '/x', host: 'test' } : null;
    };
  }
  for (const e of ENGINE_EVENTS) impl[e] = () => () => {};
  return { impl, calls };
}

const methodName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ENGINE_REQUESTS) },
  { weight: 1, arbitrary: fc.constantFrom(...ENGINE_EVENTS, 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'then', '', 'GETINFO', 'getInfo ') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 1000, maxLength: 5000 }) },
);

const requestArg = (method: string): fc.Arbitrary<unknown> => {
  const valid = Object.hasOwn(VALID, method) ? (VALID as Record<string, unknown>)[method] : undefined;
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(valid) },
    { weight: 5, arbitrary: mutationPlans(3).map((plans) => (valid === undefined ? undefined : applyMutations(valid, plans))) },
    { weight: 3, arbitrary: nastyValue },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 3, withNullPrototype: true, withBoxedValues: true }) },
  );
};

type Sent = { msg: unknown; expectReply: number | 'stray' | 'none' };

/** One random message: a request (mostly) or garbage. `id` is its unique id when it carries one. */
const messageArb = (id: number): fc.Arbitrary<Sent> =>
  fc.oneof(
    { weight: 8, arbitrary: methodName.chain((method) => requestArg(method).map((arg): Sent => ({ msg: arg === undefined ? { t: 'req', id, method } : { t: 'req', id, method, arg }, expectReply: id }))) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('req'), id: fc.constantFrom<unknown>('1', 1.5, null, NaN, 2 ** 60, undefined, {}), method: methodName }).map((msg): Sent => ({ msg, expectReply: 'stray' })) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('req'), id: fc.constant(id), method: fc.constantFrom<unknown>(1, null, {}, [], undefined) }).map((msg): Sent => ({ msg, expectReply: id })) },
    { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('sub', 'unsub'), event: fc.oneof(fc.constantFrom<unknown>(...ENGINE_EVENTS), fc.string(), nastyValue) }).map((msg): Sent => ({ msg, expectReply: 'none' })) },
    { weight: 1, arbitrary: fc.oneof(nastyValue, fc.anything({ maxDepth: 2 }), fc.record({ t: fc.constantFrom('res', 'evt', 'REQ', '', 'binary') })).map((msg): Sent => ({ msg, expectReply: 'none' })) },
  );

function connection() {
  const [client, server] = inProcessPair();
  const engine = recordingEngine();
  serveApi(ENGINE_SPEC, engine.impl, server);
  const replies: Message[] = [];
  client.onMessage((m) => replies.push(m as Message));
  return { client, engine, replies };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, i < 50 ? 0 : 2));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('engine API proxy under fuzzing', () => {
  it('answers every malformed request with a typed error, lets only valid arguments through, and keeps serving', async () => {
    const { client, engine, replies } = connection();
    let nextId = 1;
    let okReplies = 0;
    let errorReplies = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(...Array.from({ length: n }, () => messageArb(nextId++)))), async (batch) => {
        const start = replies.length;
        for (const s of batch) {
          tally.add(s.expectReply === 'none' ? 'garbage message' : s.expectReply === 'stray' ? 'request with a bad id' : 'request');
          client.send(s.msg as Message);
        }
        // A valid request right after the batch must work.
        const probe = nextId++;
        client.send({ t: 'req', id: probe, method: 'getInfo' });
        await until(() => replies.some((r) => r.t === 'res' && r.id === probe), `the getInfo probe ${probe}`);
        const mine = replies.slice(start);
        const probeReply = mine.find((r) => r.t === 'res' && r.id === probe);
        expect(probeReply).toMatchObject({ ok: true, value: { version: 'fuzz' } });
        for (const s of batch) {
          if (typeof s.expectReply !== 'number') continue;
          const rs = mine.filter((r) => r.t === 'res' && r.id === s.expectReply);
          expect(rs, `exactly one reply to ${JSON.stringify(s.msg)?.slice(0, 200)}`).toHaveLength(1);
          const r = rs[0]!;
          if (r.t === 'res' && !r.ok) {
            errorReplies++;
            expect(ERROR_CODES).toContain(r.error.code);
            expect(typeof r.error.message).toBe('string');
            expect(r.error.message.length).toBeLessThan(5000);
          } else okReplies++;
        }
        // Every error without a request id is a typed error too.
        for (const r of mine) if (r.t === 'res' && r.id === -1) expect(r.ok === false && ERROR_CODES.includes(r.error.code)).toBe(true);
      }),
      { numRuns: 800 },
    );
    // Only schema-valid arguments ever reached the implementation.
    for (const c of engine.calls) {
      const schema = (ENGINE_SCHEMAS as Record<string, (typeof ENGINE_SCHEMAS)[keyof typeof ENGINE_SCHEMAS]>)[c.method];
      if (schema) expect(parse(schema, c.arg).ok, `${c.method} got ${JSON.stringify(c.arg)?.slice(0, 300)}`).toBe(true);
      else expect(c.arg).toBeUndefined();
    }
    console.log(`[fuzz] proxy: ${okReplies} requests answered ok, ${errorReplies} with a typed error; ${engine.calls.length} calls reached the engine, all schema-valid`);
    expect(errorReplies).toBeGreaterThan(500);
  });

  it('refuses oversized arguments with bad-request and stays up', async () => {
    const { client, replies } = connection();
    const big = 'x'.repeat(5 * 2 ** 20);
    const nodes = Array.from({ length: 20_001 }, (_, i) => ({ id: `n${i}`, type: 'Dense', name: `d${i}` }));
    const cases: unknown[] = [
      { path: big },
      { runId: big },
      { ...(VALID.startTraining as object), graph: { nodes, edges: [] } },
      { ...(VALID.startTraining as object), name: big },
      { ...(VALID.startTraining as object), graph: { nodes: template.graph.nodes, edges: Array.from({ length: 100_001 }, (_, i) => ({ id: `e${i}`, source: 'input', target: 'conv1' })) } },
    ];
    const methods = ['importModel', 'getRun', 'startTraining', 'startTraining', 'startTraining'];
    cases.forEach((arg, i) => client.send({ t: 'req', id: 1000 + i, method: methods[i]!, arg }));
    client.send({ t: 'req', id: 2000, method: 'getInfo' });
    await until(() => replies.some((r) => r.t === 'res' && r.id === 2000), 'the probe');
    for (let i = 0; i < cases.length; i++) {
      tally.add('oversized request');
      expect(replies.find((r) => r.t === 'res' && r.id === 1000 + i)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    }
    expect(replies.find((r) => r.t === 'res' && r.id === 2000)).toMatchObject({ ok: true });
  });
});
