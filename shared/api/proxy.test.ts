import { describe, expect, it } from 'vitest';
import { s } from '../schema';
import { ApiError, createClient, inProcessPair, serveApi, type Message, type ServiceSpec, type Transport } from './proxy';
import { ENGINE_NAMES, ENGINE_REQUESTS, ENGINE_EVENTS } from './engine';
import { ENGINE_SCHEMAS, ENGINE_SPEC } from './schemas';

interface Calc {
  add(req: { a: number; b: number }): Promise<number>;
  boom(): Promise<void>;
  notFound(): Promise<void>;
  onTick(listener: (n: number) => void): () => void;
}

const spec: ServiceSpec = {
  requests: ['add', 'boom', 'notFound'],
  events: ['onTick'],
  schemas: { add: s.object({ a: s.number(), b: s.number() }, { strict: true }), boom: undefined, notFound: undefined },
};

function makeCalc() {
  const listeners = new Set<(n: number) => void>();
  const impl: Calc & { tick(n: number): void; listenerCount(): number; secret(): string } = {
    add: async ({ a, b }) => a + b,
    boom: async () => {
      throw new Error('kaput');
    },
    notFound: async () => {
      throw new ApiError('not-found', 'no such thing', { id: 'x' });
    },
    onTick(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    tick: (n) => listeners.forEach((l) => l(n)),
    listenerCount: () => listeners.size,
    secret: () => 'leak',
  };
  return impl;
}

function setup() {
  const [c, srv] = inProcessPair();
  const impl = makeCalc();
  const served = serveApi(spec, impl, srv);
  const client = createClient<Calc>(spec, c);
  return { c, srv, impl, served, client };
}

/** Sends a raw message on a transport and waits for the first reply. */
function raw(t: Transport, msg: unknown): Promise<Message> {
  return new Promise((resolve) => {
    const off = t.onMessage((m) => {
      off();
      resolve(m as Message);
    });
    t.send(msg as Message);
  });
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('service proxy', () => {
  it('calls requests and returns values', async () => {
    const { client } = setup();
    await expect(client.add({ a: 2, b: 3 })).resolves.toBe(5);
  });

  it('validates arguments and answers a typed bad-request error', async () => {
    const { client } = setup();
    const err = await client.add({ a: 2, b: 'x' } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('bad-request');
    expect((err as ApiError).message).toMatch(/add: invalid request: b: expected a finite number/);
    const extra = await client.add({ a: 1, b: 1, c: 1 } as never).catch((e: unknown) => e);
    expect((extra as ApiError).code).toBe('bad-request');
  });

  it('turns thrown errors into typed errors and keeps the ApiError code', async () => {
    const { client } = setup();
    await expect(client.boom()).rejects.toMatchObject({ code: 'failed', message: 'kaput' });
    await expect(client.notFound()).rejects.toMatchObject({ code: 'not-found', details: { id: 'x' } });
  });

  it('refuses unknown methods, methods not in the spec and malformed messages, then still works', async () => {
    const { c, client } = setup();
    expect(await raw(c, { t: 'req', id: 7, method: 'secret' })).toMatchObject({ id: 7, ok: false, error: { code: 'unknown-method' } });
    expect(await raw(c, { t: 'req', id: 8, method: 'toString' })).toMatchObject({ id: 8, ok: false, error: { code: 'unknown-method' } });
    expect(await raw(c, { t: 'req', id: 9, method: 'onTick' })).toMatchObject({ ok: false, error: { code: 'unknown-method' } });
    for (const junk of [null, 42, 'x', [], { t: 'req' }, { t: 'req', id: 1.5, method: 'add' }, { t: 'what' }, { t: 'sub' }]) {
      expect(await raw(c, junk)).toMatchObject({ t: 'res', ok: false, error: { code: 'bad-request' } });
    }
    expect(await raw(c, { t: 'req', id: 10, method: 'boom', arg: { unexpected: true } })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    await expect(client.add({ a: 1, b: 1 })).resolves.toBe(2);
  });

  it('delivers events to subscribers and unsubscribes on the server when the last listener leaves', async () => {
    const { client, impl } = setup();
    const got: number[] = [];
    const got2: number[] = [];
    const off = client.onTick((n) => got.push(n));
    const off2 = client.onTick((n) => got2.push(n));
    await tick();
    expect(impl.listenerCount()).toBe(1);
    impl.tick(1);
    await tick();
    off2();
    impl.tick(2);
    await tick();
    expect(got).toEqual([1, 2]);
    expect(got2).toEqual([1]);
    off();
    await tick();
    expect(impl.listenerCount()).toBe(0);
  });

  it('fails pending requests when the connection closes and drops server subscriptions', async () => {
    const [c, srv] = inProcessPair();
    const impl = makeCalc();
    let release!: () => void;
    impl.add = () => new Promise<number>((r) => (release = () => r(1)));
    serveApi(spec, impl, srv);
    const client = createClient<Calc>(spec, c);
    client.onTick(() => {});
    const pending = client.add({ a: 1, b: 1 });
    await tick();
    expect(impl.listenerCount()).toBe(1);
    c.close();
    await expect(pending).rejects.toMatchObject({ code: 'disconnected' });
    expect(impl.listenerCount()).toBe(0);
    release();
    await expect(client.add({ a: 1, b: 2 })).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('builds a plain client object (one own function per member, contextBridge-friendly)', () => {
    const [c] = inProcessPair();
    const client = createClient<Record<string, unknown>>(ENGINE_NAMES, c);
    expect(Object.keys(client).sort()).toEqual([...ENGINE_REQUESTS, ...ENGINE_EVENTS].sort());
    for (const v of Object.values(client)) expect(typeof v).toBe('function');
  });
});

describe('engine request schemas', () => {
  it('has a schema entry for every request', () => {
    expect(Object.keys(ENGINE_SCHEMAS).sort()).toEqual([...ENGINE_REQUESTS].sort());
    expect(ENGINE_SPEC.events).toEqual(ENGINE_EVENTS);
  });

  it('fills training settings defaults and rejects bad graphs with a path', async () => {
    const r = ENGINE_SCHEMAS.startTraining!.check({ graph: { nodes: [], edges: [] }, datasetId: 'cifar10', settings: { epochs: 2 } }, '', []);
    expect(r.settings.epochs).toBe(2);
    expect(r.settings.batchSize).toBe(64);
    const issues: { path: string; message: string }[] = [];
    ENGINE_SCHEMAS.startTraining!.check({ graph: { nodes: [{ id: 'a', type: 'Nope', name: 'a' }], edges: [] }, datasetId: '../x', settings: { epochs: -1 } }, '', issues);
    const paths = issues.map((i) => i.path);
    expect(paths).toContain('graph.nodes[0].type');
    expect(paths).toContain('datasetId');
    expect(paths).toContain('settings.epochs');
  });
});
