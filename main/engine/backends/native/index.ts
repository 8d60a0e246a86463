/**
 * Loads Layerforge's own wasm kernels (every native/*.c, built by build.mjs into <name>Wasm.ts and
 * listed in modules.ts) onto the memory of a live tfjs wasm backend, so that they work on tensors in
 * place. One instance per backend instance; null where the backend's memory cannot be reached (then
 * callers use their JavaScript fallbacks).
 */
import * as v8 from 'node:v8';
import { NATIVE_MODULES } from './modules';
import { helperWanted, NativeHelper, type PoolFunction } from './pool';

/** A kernel export: heap byte offsets and scalars in, nothing (or a scalar) out. */
export type NativeFunction = (...args: number[]) => number | undefined;

/** Which build of our modules runs: with relaxed SIMD (f32x4.relaxed_madd, FMA) or without. */
export type NativeVariant = 'relaxed' | 'plain';

export interface NativeVariantChoice {
  readonly variant: NativeVariant;
  /** Why, in words (for `layerforge backends` and logs). */
  readonly reason: string;
}

export interface NativeKernels {
  /** The build loaded for the sources that have a relaxed-SIMD one (build.mjs: `// layerforge: relaxed-simd`). */
  readonly variant: NativeVariant;
  /** Why that build (the runtime's support, a flag we set, LAYERFORGE_NATIVE_RELAXED=0, a failed compile). */
  readonly variantReason: string;
  /** The sources (C file base names) loaded in their relaxed-SIMD build. */
  readonly relaxedModules: readonly string[];
  /** dx of max pooling; every argument after the three byte offsets as in kernels.c. */
  maxpoolGrad(x: number, dy: number, dx: number, nb: number, h: number, w: number, c: number, oh: number, ow: number, sh: number, sw: number, padTop: number, padLeft: number, efh: number, efw: number, dh: number, dw: number, bBegin: number, bEnd: number): void;
  /** y[j] = sum_i x[i*k + j]. */
  sumRows(x: number, y: number, m: number, k: number): void;
  /** One fused Adam step (see kernels.c); the first seven arguments are heap byte offsets. */
  /** dW of a conv2d by direct accumulation (see kernels.c); x, dy, dw are heap byte offsets. */
  conv2dFilterGrad(x: number, dy: number, dw: number, nb: number, h: number, w: number, c: number, oh: number, ow: number, f: number, fh: number, fw: number, sh: number, sw: number, padTop: number, padLeft: number, dilH: number, dilW: number, rowBegin: number, rowEnd: number, zero: number): void;
  /** A second thread running these modules on the same memory (threaded tfjs build, 2+ cores), or null. */
  readonly helper: NativeHelper | null;
  /** Any export of any of our modules by its C name (throws naming it when no module exports it). */
  fn(name: string): NativeFunction;
  /** Whether one of our modules exports this name. */
  has(name: string): boolean;
  /** Batch norm with per-channel statistics; offset/scale 0 when absent; scratch holds 2*c floats. */
  batchNorm(x: number, mean: number, variance: number, offset: number, scale: number, out: number, scratch: number, rows: number, c: number, eps: number): void;
  /** out[i][j][o][c] = w[fh-1-i][fw-1-j][c][o]. */
  filterFlipSwap(w: number, out: number, fh: number, fw: number, ci: number, co: number): void;
  /** In place: y[r][c] = act(y[r][c] + bias[c]); act 0 linear, 1 relu, 2 relu6. */
  biasAct(y: number, bias: number, rows: number, cols: number, act: number): void;
  /** out = relu(a + b) over n floats (a residual merge and its ReLU, inference). */
  addRelu(a: number, b: number, out: number, n: number): void;
  /** out = dy * step(x). */
  reluGrad(x: number, dy: number, out: number, n: number): void;
  adamUpdate(x: number, g: number, m: number, v: number, xo: number, mo: number, vo: number, n: number, lr: number, b1: number, oneMinusB1: number, b2: number, oneMinusB2: number, c1: number, c2: number, eps: number): void;
  /** Batched C = op(A)·op(B) (see kernels.c); a, b, c, pack are heap byte offsets, pack holds k*n floats. */
  /** Layer norm forward over rows [rowBegin, rowEnd) of c features; gamma/beta 0 when absent (see kernels.c). */
  layerNorm(x: number, gamma: number, beta: number, y: number, mean: number, rstd: number, c: number, eps: number, rowBegin: number, rowEnd: number): void;
  /** Layer norm backward for rows [rowBegin, rowEnd); dgamma/dbeta (c floats each) are this call's own partial sums. */
  layerNormGrad(dy: number, x: number, mean: number, rstd: number, gamma: number, dx: number, dgamma: number, dbeta: number, c: number, rowBegin: number, rowEnd: number): void;
  /** Attention weights softmax(scale·x) per row of n keys (n % 4 == 0), causal by query r % tq; scaleBits: the float32 scale's bits. */
  attentionSoftmax(x: number, y: number, n: number, scaleBits: number, causal: number, tq: number, rowBegin: number, rowEnd: number): void;
  /** dx = scale·y·(dy − Σ dy·y) per row. */
  attentionSoftmaxGrad(y: number, dy: number, dx: number, n: number, scaleBits: number, rowBegin: number, rowEnd: number): void;
  gemm(a: number, b: number, c: number, pack: number, m: number, n: number, k: number, ta: number, tb: number, aBatchStride: number, bBatchStride: number, batchBegin: number, batchEnd: number, rowBegin: number, rowEnd: number): void;
}

/** The parts of tfjs's BackendWasm that we use. */
export interface WasmBackendInternals {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number | null } | undefined };
}

const instances = new WeakMap<object, NativeKernels | null>();
let disabled = process.env.LAYERFORGE_NATIVE_KERNELS === '0';
let failure: string | null = null;

/** Why the last attempt to load our kernels failed (null: never failed). */
export function nativeKernelsFailure(): string | null {
  return failure;
}

/** For benchmarks and tests: turn our wasm kernels off (callers fall back to JavaScript) or on. */
export function setNativeKernelsEnabled(on: boolean): void {
  disabled = !on;
}

/**
 * The smallest module using relaxed SIMD: one function computing f32x4.relaxed_madd of three zero
 * vectors. WebAssembly.validate accepts it only where the runtime has relaxed SIMD.
 */
function relaxedProbe(): Uint8Array<ArrayBuffer> {
  const zeros = new Array<number>(16).fill(0);
  const v128Const = [0xfd, 0x0c, ...zeros];
  // no locals; three v128.const 0; f32x4.relaxed_madd (0xfd 0x85 0x02); drop; end
  const body = [0x00, ...v128Const, ...v128Const, ...v128Const, 0xfd, 0x85, 0x02, 0x1a, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // types: () -> ()
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body, // its code
  ]);
}

/** V8's switch for relaxed SIMD before it shipped by default (V8 11.4; Node 20 has 11.3, Electron 45 has 14). */
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
let relaxedChoice: NativeVariantChoice | null = null;

/**
 * Whether our relaxed-SIMD builds can run here, decided once per process: yes where the runtime
 * validates a relaxed-SIMD module (V8 >= 11.4: Electron 45, Node 22); otherwise (Node 20, V8 11.3) we
 * turn on V8's RELAXED_FLAG with v8.setFlagsFromString. V8 reads it whenever it validates a module, so
 * setting it here, after tfjs's own modules compiled, works, and for every thread of the process (the
 * training worker and our helper thread included; measured on Node 20.20). NODE_OPTIONS refuses it
 * ("not allowed in NODE_OPTIONS"); `node --experimental-wasm-relaxed-simd` would also do.
 * LAYERFORGE_NATIVE_RELAXED=0 forces the plain build (tests, comparisons).
 */
export function nativeVariantChoice(): NativeVariantChoice {
  if (process.env.LAYERFORGE_NATIVE_RELAXED === '0') return { variant: 'plain', reason: 'relaxed SIMD turned off (LAYERFORGE_NATIVE_RELAXED=0)' };
  if (relaxedChoice) return relaxedChoice;
  const probe = relaxedProbe();
  if (WebAssembly.validate(probe)) relaxedChoice = { variant: 'relaxed', reason: 'the runtime has relaxed SIMD (FMA)' };
  else {
    try {
      v8.setFlagsFromString(RELAXED_FLAG);
    } catch {
      // not Node's v8 module: stays plain below
    }
    relaxedChoice = WebAssembly.validate(probe)
      ? { variant: 'relaxed', reason: `relaxed SIMD (FMA) turned on with V8's ${RELAXED_FLAG} (V8 ${process.versions.v8})` }
      : { variant: 'plain', reason: `the runtime has no relaxed SIMD (V8 ${process.versions.v8})` };
  }
  return relaxedChoice;
}

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const bytes = Buffer.from(b64, 'base64');
  const copy = new Uint8Array(new ArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}

function instantiate(memory: WebAssembly.Memory): NativeKernels {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const modules: WebAssembly.Module[] = [];
  const exported = new Map<string, NativeFunction>();
  const choice = nativeVariantChoice();
  let variantReason = choice.reason;
  const relaxedModules: string[] = [];
  for (const source of NATIVE_MODULES) {
    const relaxed = choice.variant === 'relaxed' ? (shared ? source.WASM_SHARED_RELAXED : source.WASM_PLAIN_RELAXED) : undefined;
    let module: WebAssembly.Module | null = null;
    if (relaxed) {
      try {
        module = new WebAssembly.Module(decode(relaxed));
        relaxedModules.push(source.name);
      } catch (error) {
        variantReason = `${source.name}: relaxed-SIMD build refused (${error instanceof Error ? error.message : String(error)}), plain build loaded`;
      }
    }
    module ??= new WebAssembly.Module(decode(shared ? source.WASM_SHARED : source.WASM_PLAIN));
    modules.push(module);
    const { exports } = new WebAssembly.Instance(module, { env: { memory } });
    for (const [name, f] of Object.entries(exports)) if (typeof f === 'function') exported.set(name, f as NativeFunction);
  }
  const fn = (name: string): NativeFunction => {
    const f = exported.get(name);
    if (f === undefined) throw new Error(`native kernels: no module exports '${name}' (native/*.c, listed in native/modules.ts)`);
    return f;
  };
  let helper: NativeHelper | null = null;
  try {
    if (helperWanted(memory)) helper = new NativeHelper(memory, modules, fn);
  } catch (error) {
    failure = `helper thread not started: ${error instanceof Error ? error.message : String(error)}`;
  }
  const variant: NativeVariant = relaxedModules.length > 0 ? 'relaxed' : 'plain';
  return { variant, variantReason, relaxedModules, helper, fn, has: (name: string) => exported.has(name), maxpoolGrad: fn('maxpool_grad'), sumRows: fn('sum_rows'), adamUpdate: fn('adam_update'), reluGrad: fn('relu_grad'), addRelu: fn('add_relu'), biasAct: fn('bias_act'), conv2dFilterGrad: fn('conv2d_filter_grad'), filterFlipSwap: fn('filter_flip_swap'), batchNorm: fn('batch_norm'), gemm: fn('gemm'), layerNorm: fn('layer_norm'), layerNormGrad: fn('layer_norm_grad'), attentionSoftmax: fn('attention_softmax'), attentionSoftmaxGrad: fn('attention_softmax_grad') } as NativeKernels;
}

/** Our kernels on this backend's memory, or null (not a wasm backend we can reach, or disabled). */
export function nativeKernels(backend: unknown): NativeKernels | null {
  if (disabled || backend == null || typeof backend !== 'object') return null;
  if (instances.has(backend)) return instances.get(backend) ?? null;
  let k: NativeKernels | null = null;
  try {
    const b = backend as Partial<WasmBackendInternals>;
    const memory = b.wasm?.wasmMemory ?? b.wasm?.asm?.memory;
    if (memory instanceof WebAssembly.Memory) k = instantiate(memory);
  } catch (error) {
    k = null;
    failure = error instanceof Error ? error.message : String(error);
  }
  instances.set(backend, k);
  return k;
}

/** The heap byte offset of a tensor on a wasm backend. */
export function heapOffset(backend: unknown, dataId: object): number {
  const d = (backend as WasmBackendInternals).dataIdMap.get(dataId);
  if (d?.memoryOffset == null) throw new Error('native kernels: tensor has no wasm heap memory');
  return d.memoryOffset;
}

/**
 * An element-wise kernel over n floats, split in two on 4-float boundaries when the helper thread is up
 * and n >= 65,536: the helper runs fn on the second half (every heap offset moved by the first half),
 * this thread calls run(offsets, count) on the first.
 */
export function splitElements(native: NativeKernels, fn: PoolFunction, offsets: readonly number[], n: number, run: (offsets: readonly number[], count: number) => void): void {
  const half = (n >> 3) << 2;
  if (native.helper?.ready && n >= 1 << 16) {
    native.helper.alongside(fn, [...offsets.map((o) => o + 4 * half), n - half], () => run(offsets, half));
  } else run(offsets, n);
}
