#!/usr/bin/env node
/**
 * Builds every native/*.c into its own WebAssembly module and writes <name>Wasm.ts beside it (the
 * modules as base64, so that they travel with the engine's code in every build without a separate
 * asset). One module per source file, so that a kernel family (kernels.c, batchNorm.c, recurrent.c, …)
 * lives in one file and its generated twin; modules.ts lists them, index.ts instantiates them all on
 * the same tfjs memory.
 *
 *   node main/engine/backends/native/build.mjs [--check] [name.c …]
 *
 * Needs clang and wasm-ld (Debian: apt-get install -y clang lld) and, for the safety check,
 * wasm-objdump (wabt). Two variants per source: one importing a shared memory (tfjs's threaded build),
 * one a plain memory (the single-threaded builds). The check refuses any module that could write
 * outside the tensors it is given: data segments, use of the stack pointer global, calls, or memory
 * growth; and two sources exporting the same name.
 * --check: build into a temporary folder and compare with the committed <name>Wasm.ts files (exit 1 if
 * one differs or is missing), so CI proves that the committed binaries are these sources.
 * Naming sources builds only those (still checking export names against every source).
 *
 * Relaxed SIMD: a source with the line `// layerforge: relaxed-simd` also gets two relaxed variants
 * (WASM_SHARED_RELAXED / WASM_PLAIN_RELAXED), built by clang-16 with -mrelaxed-simd -DLF_RELAXED=1 so
 * that its hot loops use f32x4.relaxed_madd (a fused multiply-add where the CPU has FMA). Debian's
 * clang 14 cannot emit it: needs clang-16 and lld-16 (Debian 12: apt-get install -y clang-16 lld-16).
 * index.ts loads them where the runtime validates relaxed SIMD. Sources without the line are built
 * exactly as before (same generated file).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const named = args.filter((a) => a.endsWith('.c')).map((a) => basename(a));
const tmp = mkdtempSync(join(tmpdir(), 'layerforge-kernels-'));

const common = ['--target=wasm32', '-O3', '-msimd128', '-mbulk-memory', '-nostdlib', '-fno-builtin', '-Wall', '-Wextra', '-Werror',
  '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--max-memory=4294967296', '-Wl,--strip-all'];
const variants = {
  shared: [...common, '-matomics', '-Wl,--shared-memory'],
  plain: common,
};
const RELAXED_MARKER = /^\/\/ layerforge: relaxed-simd\s*$/m;
const RELAXED_CLANG = 'clang-16';
const relaxedFlags = ['-mrelaxed-simd', '-DLF_RELAXED=1'];

/** Whether clang-16 (with its own wasm-ld, from lld-16) can build a relaxed-SIMD module; else why not. */
function relaxedToolchainProblem() {
  const why = 'needs clang-16 and lld-16 (Debian 12: apt-get install -y clang-16 lld-16; .ci/run installs them)';
  try {
    execFileSync(RELAXED_CLANG, ['--version'], { stdio: 'ignore' });
  } catch {
    return `${RELAXED_CLANG} is not installed: the relaxed-SIMD variant ${why}`;
  }
  // The linker it would run (Debian's clang-16 runs wasm-ld-16, from lld-16): the last command of -###.
  let ld = '';
  try {
    const plan = spawnSync(RELAXED_CLANG, ['--target=wasm32', '-nostdlib', '-Wl,--no-entry', '-###', '-x', 'c', '/dev/null', '-o', join(tmp, 'probe.wasm')], { encoding: 'utf8' });
    ld = /^ "([^"]+)"/.exec(plan.stderr.trim().split('\n').at(-1) ?? '')?.[1] ?? '';
  } catch { /* reported below */ }
  if (!ld || !existsSync(ld)) return `${RELAXED_CLANG} finds no wasm linker${ld ? ` (${ld} is missing)` : ''}: the relaxed-SIMD variant ${why}`;
  return null;
}

const run = promisify(execFile);
/** Builds run concurrently, one per core (the check compiles every source 2 or 4 times). */
let slots = Math.max(1, availableParallelism());
const queue = [];
async function limited(task) {
  if (slots === 0) await new Promise((resolve) => queue.push(resolve));
  else slots--;
  try {
    return await task();
  } finally {
    const next = queue.shift();
    if (next) next();
    else slots++;
  }
}

async function build(source, variant, flags, compiler = 'clang') {
  const out = join(tmp, `${basename(source, '.c')}.${variant}.wasm`);
  try {
    await limited(() => run(compiler, [...flags, '-I', here, '-o', out, join(here, source)], { maxBuffer: 1 << 26 }));
  } catch (error) {
    throw new Error(`${source} (${variant}): ${compiler} failed:\n${error.stderr || error.message}`);
  }
  const { stdout: dump } = await limited(() => run('wasm-objdump', ['-x', '-d', out], { encoding: 'utf8', maxBuffer: 1 << 28 }));
  const relaxed = compiler === RELAXED_CLANG;
  const bad = [
    [/^Data\[/m, 'a data segment'],
    [/global\.(get|set)/, 'the stack pointer (a stack frame)'],
    [/\bcall(_indirect)? /, 'a call'],
    [/memory\.grow/, 'memory.grow'],
    ...(relaxed ? [] : [[/\brelaxed_/, 'a relaxed-SIMD instruction (only the *_RELAXED variants may)']]),
  ].filter(([re]) => re.test(dump));
  if (bad.length) throw new Error(`${source} (${variant}): the module uses ${bad.map(([, what]) => what).join(', ')}; kernels must be stack-free leaf functions (see kernels.c)`);
  const exports = [...dump.matchAll(/^ - func\[\d+\] .*-> "([^"]+)"$/gm)].map((m) => m[1]);
  if (relaxed && !/\brelaxed_madd\b/.test(dump)) throw new Error(`${source} (${variant}): opts into relaxed SIMD but its module has no relaxed_madd (use the LF_RELAXED macro in its hot loops, or drop the marker line)`);
  return { bytes: readFileSync(out), exports };
}

/** Export names a source declares (export_name attributes), to catch clashes without building it. */
function declaredExports(source) {
  return [...readFileSync(join(here, source), 'utf8').matchAll(/export_name\("([^"]+)"\)/g)].map((m) => m[1]);
}

let failed = false;
try {
  const sources = readdirSync(here).filter((f) => f.endsWith('.c')).sort();
  const owner = new Map();
  for (const s of sources) for (const e of declaredExports(s)) {
    if (owner.has(e)) throw new Error(`export "${e}" is declared by both ${owner.get(e)} and ${s}; every kernel name must be unique across native/*.c`);
    owner.set(e, s);
  }
  const builds = (named.length ? named : sources).map(async (source) => {
    if (!sources.includes(source)) throw new Error(`no ${source} in ${here}`);
    const name = basename(source, '.c');
    const wantsRelaxed = RELAXED_MARKER.test(readFileSync(join(here, source), 'utf8'));
    if (wantsRelaxed) {
      const problem = relaxedToolchainProblem();
      if (problem) throw new Error(`${source} opts into relaxed SIMD ('// layerforge: relaxed-simd'): ${problem}`);
    }
    const [shared, plain, rShared, rPlain] = await Promise.all([
      build(source, 'shared', variants.shared),
      build(source, 'plain', variants.plain),
      ...(wantsRelaxed ? [build(source, 'shared-relaxed', [...variants.shared, ...relaxedFlags], RELAXED_CLANG), build(source, 'plain-relaxed', [...variants.plain, ...relaxedFlags], RELAXED_CLANG)] : []),
    ]);
    const mods = { shared, plain };
    let relaxedText = '';
    if (wantsRelaxed) {
      const relaxed = { shared: rShared, plain: rPlain };
      if (JSON.stringify(relaxed.plain.exports) !== JSON.stringify(mods.plain.exports)) throw new Error(`${source}: the relaxed-SIMD build exports ${relaxed.plain.exports.join(', ')}, the plain one ${mods.plain.exports.join(', ')}; they must match`);
      relaxedText = `/** The same with relaxed SIMD (${RELAXED_CLANG} ${relaxedFlags.join(' ')}: f32x4.relaxed_madd), shared memory; index.ts loads it where the runtime validates relaxed SIMD. */
export const WASM_SHARED_RELAXED = '${relaxed.shared.bytes.toString('base64')}';
/** The same with relaxed SIMD, plain memory. */
export const WASM_PLAIN_RELAXED = '${relaxed.plain.bytes.toString('base64')}';
`;
    }
    const text = `// Generated by build.mjs from ${source}: do not edit. Rebuild: node main/engine/backends/native/build.mjs ${source}
/** ${source} compiled for a shared memory (tfjs's threaded wasm build). */
export const WASM_SHARED = '${mods.shared.bytes.toString('base64')}';
/** ${source} compiled for a plain memory (tfjs's single-threaded wasm builds). */
export const WASM_PLAIN = '${mods.plain.bytes.toString('base64')}';
${relaxedText}/** Its exported kernels. */
export const EXPORTS: readonly string[] = ${JSON.stringify(mods.plain.exports)};
`;
    const target = join(here, `${name}Wasm.ts`);
    if (check) {
      const committed = existsSync(target) ? readFileSync(target, 'utf8') : '';
      if (committed !== text) {
        console.error(`${name}Wasm.ts does not match ${source}: run node main/engine/backends/native/build.mjs ${source} and commit the result`);
        failed = true;
      } else console.log(`${name}Wasm.ts matches ${source}`);
    } else {
      writeFileSync(target, text);
      console.log(`wrote ${target} (shared ${mods.shared.bytes.length} bytes, plain ${mods.plain.bytes.length} bytes, ${mods.plain.exports.length} kernels${relaxedText ? ', and relaxed-SIMD variants' : ''})`);
    }
  });
  const results = await Promise.allSettled(builds);
  const errors = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
  if (errors.length) throw errors[0];
  if (failed) process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
