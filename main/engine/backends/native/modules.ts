/**
 * Every wasm module of ours, one per native/*.c (build.mjs writes each <name>Wasm.ts). A kernel family
 * added in its own C file adds one line here; index.ts instantiates them all on the same tfjs memory
 * and the helper thread (pool.ts) runs any of their exports.
 */
import * as kernels from './kernelsWasm';
import * as recurrent from './recurrentWasm';
import * as batchNorm from './batchNormWasm';
import * as conv from './convWasm';
import * as elementwise from './elementwiseWasm';
import * as attention from './attentionWasm';
import * as convGrad from './convGradWasm';
import * as pooling from './poolingWasm';
import * as lossAct from './lossActWasm';

export interface NativeModuleSource {
  /** The C file's base name. */
  readonly name: string;
  readonly WASM_SHARED: string;
  readonly WASM_PLAIN: string;
  /** The relaxed-SIMD builds (FMA), only for sources that opt in (build.mjs: `// layerforge: relaxed-simd`). */
  readonly WASM_SHARED_RELAXED?: string;
  readonly WASM_PLAIN_RELAXED?: string;
  readonly EXPORTS: readonly string[];
}

/** Not here: mlp.c, which fastMlp.ts instantiates on a memory of each table net's own (it never touches tfjs's heap). */
export const NATIVE_MODULES: readonly NativeModuleSource[] = [
  { name: 'kernels', ...kernels },
  { name: 'recurrent', ...recurrent },
  { name: 'batchNorm', ...batchNorm },
  { name: 'conv', ...conv },
  { name: 'elementwise', ...elementwise },
  { name: 'attention', ...attention },
  { name: 'convGrad', ...convGrad },
  { name: 'pooling', ...pooling },
  { name: 'lossAct', ...lossAct },
];
