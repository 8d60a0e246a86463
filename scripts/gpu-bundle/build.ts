/**
 * `npm run gpu-bundle [-- --platform linux-x64|linux-arm64|darwin-universal|win32-x64|win32-arm64] [--out FILE]`
 *
 * Builds the offline GPU check: one .tar.gz (at most 64 MiB) that runs `npm run bench -- --only gpu`
 * on a machine with Node >= 20 and no package registry (GPU machines often have none):
 *
 *   layerforge-gpu-check-<platform>/
 *     gpu-check.mjs          the bench's GPU check with the engine (esbuild, from entry.ts; ~0.3 MB)
 *     bundle.json            platform, date, commit, package versions
 *     README.md
 *     resources/templates/   the GPU templates (cifar10-cnn, resnet-small)
 *     scripts/bench/         pytorch-gpu.py + pytorch-templates.py (the PyTorch-on-CUDA peer)
 *     node_modules/          tfjs 4.22 pruned to each package's single-file Node build (+ the wasm
 *                            backend's .wasm and Emscripten scripts), and `webgpu` with only this
 *                            platform's dist/<platform>/ (dawn.node; on Windows with its two DLLs)
 *
 * Why tfjs sits in a pruned node_modules rather than inside gpu-check.mjs: the engine imports its
 * optional backends (wasm, webgpu, tfjs-node) by run-time specifier and finds the wasm backend's
 * Emscripten scripts and .wasm files through package resolution; with the packages' own files in
 * place it runs unchanged, exactly as under `npm run bench`, and every backend registers into the
 * one tfjs-core. Why .tar.gz and not .zip: the system's `tar` (Linux, macOS, Windows 10+ all ship one)
 * both builds and unpacks it, with no archiver of our own; gzip takes the bundle to 8-17 MiB.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Plugin } from 'esbuild';
import { PLATFORMS, hostPlatform, type BundleManifest, type BundlePlatform } from './platform';

export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The tfjs packages the check loads (tf.node.js requires the first six), with the files each needs at run time. */
const TFJS_PACKAGES: Record<string, string[]> = {
  '@tensorflow/tfjs': ['dist/tf.node.js'],
  '@tensorflow/tfjs-core': ['dist/tf-core.node.js'],
  '@tensorflow/tfjs-layers': ['dist/tf-layers.node.js'],
  '@tensorflow/tfjs-converter': ['dist/tf-converter.node.js'],
  '@tensorflow/tfjs-data': ['dist/tf-data.node.js'],
  '@tensorflow/tfjs-backend-cpu': ['dist/tf-backend-cpu.node.js'],
  '@tensorflow/tfjs-backend-webgl': ['dist/tf-backend-webgl.node.js'],
  '@tensorflow/tfjs-backend-webgpu': ['dist/tf-backend-webgpu.node.js'],
  // wasm.ts loads the threaded build's Emscripten script and pthread worker from wasm-out/ and its
  // .wasm from dist/; tfjs's own (fallback) loader takes dist/*.wasm.
  '@tensorflow/tfjs-backend-wasm': [
    'dist/tf-backend-wasm.node.js',
    'dist/tfjs-backend-wasm.wasm',
    'dist/tfjs-backend-wasm-simd.wasm',
    'dist/tfjs-backend-wasm-threaded-simd.wasm',
    'wasm-out/tfjs-backend-wasm-threaded-simd.js',
    'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js',
  ],
};

/** Packages the tfjs builds require only on paths the check never takes. */
const NOT_NEEDED: Record<string, string> = {
  // tfjs-core's fetch() falls back to it only where there is no global fetch (Node >= 18 has one).
  'node-fetch': 'lazy fallback for fetch',
};

/** Bare and relative specifiers of `require('…')` calls in a CommonJS file, comment lines left out. */
export function requiresOf(source: string): string[] {
  const out = new Set<string>();
  for (const line of source.split('\n')) {
    const t = line.trimStart();
    if (t.startsWith('//') || t.startsWith('*') || t.startsWith('/*')) continue;
    for (const m of line.matchAll(/\brequire\((['"])([^'"]+)\1\)/g)) out.add(m[2]!);
  }
  return [...out];
}

export interface BuildOptions {
  platform: BundlePlatform;
  /** The .tar.gz to write (its folder is created). */
  out: string;
  /** Where the repository's node_modules is (default: this repository's). */
  nodeModules?: string;
}

export interface BuildResult {
  file: string;
  bytes: number;
  /** Paths inside the archive (files only), '/'-separated, under the top folder. */
  files: string[];
  topFolder: string;
}

function defaultOut(platform: string): string {
  return path.join(ROOT, 'dist', 'gpu-check', `layerforge-gpu-check-${platform}.tar.gz`);
}

function copy(from: string, to: string): void {
  if (!fs.existsSync(from)) throw new Error(`the GPU bundle needs ${from}, which is missing (run npm install on the build machine)`);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

/**
 * scripts/bench/index.ts lists every bench module; the bundle holds only the GPU check. This plugin
 * replaces the others (`./training`, `./ui` …, each exporting `<name>Bench`) with a module that says
 * so when run, so that index.ts's main (options, output) is bundled unchanged.
 */
function onlyGpuBench(): Plugin {
  const benchIndex = path.join(ROOT, 'scripts', 'bench', 'index.ts');
  return {
    name: 'layerforge-only-gpu-bench',
    setup(build) {
      build.onResolve({ filter: /^\.\/[a-z]+$/ }, (args) => {
        if (args.importer !== benchIndex || args.path === './gpu' || args.path === './types') return undefined;
        return { path: args.path.slice(2), namespace: 'layerforge-bench-stub' };
      });
      build.onLoad({ filter: /.*/, namespace: 'layerforge-bench-stub' }, (args) => ({
        loader: 'js',
        contents: `export const ${args.path}Bench = { name: ${JSON.stringify(args.path)}, optIn: true, async run() { throw new Error(${JSON.stringify(`the ${args.path} bench is not in the GPU-check bundle: run it from the repository (npm run bench -- --only ${args.path})`)}); } };\n`,
      }));
    },
  };
}

function readme(platform: string, manifest: BundleManifest): string {
  const top = `layerforge-gpu-check-${platform}`;
  const exe = 'node gpu-check.mjs';
  return `# Layerforge GPU check (${platform})

The GPU check of Layerforge (\`npm run bench -- --only gpu\`) for a machine with no package registry:
training images/s of cifar10-cnn and resnet-small (batch 64, 16 on a software adapter; Adam, synthetic data) on webgpu (Dawn:
Vulkan, Metal or D3D12, any GPU vendor), on wasm (the CPU), on tensorflow-gpu where
@tensorflow/tfjs-node-gpu is installed (it is not in this bundle), and PyTorch on CUDA where
\`/usr/bin/python3\` has torch with CUDA (scripts/bench/pytorch-gpu.py; the path is fixed, so torch
in a venv/conda, or on Windows, is reported as missing).

Needs Node 20 or newer and, on Linux, the GPU vendor's Vulkan driver (libvulkan.so.1). Nothing to install.

    tar -xzf ${top}.tar.gz
    cd ${top}
    ${exe}                       # markdown table on stdout, progress on stderr (--batches 32)
    ${exe} --json > gpu.json     # the same figures as JSON
    ${exe} --templates cifar10-cnn --batches 4   # the quickest useful check

It says first and last (stderr) which adapter Dawn found, and \`NO hardware GPU adapter found\` when
there is none or only a software one (Mesa's llvmpipe/lavapipe, SwiftShader, WARP): webgpu figures
from a software adapter are the CPU's. Options are the bench's (\`--json\`, \`--batches N\`) plus
\`--templates\`. Send the output (or gpu.json) back with the adapter line.

Built ${manifest.built} from commit ${manifest.commit}; ${Object.entries(manifest.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.
Licences: tfjs (Apache-2.0), webgpu/Dawn (node_modules/webgpu/LICENSE.md)${platform.startsWith('win32') ? ', d3dcompiler_47.dll and dxcompiler.dll as the webgpu package ships them (node_modules/webgpu/dist/' + platform + '/dxcompiler-*.txt)' : ''}.
`;
}

/**
 * Follows the require() calls of the JavaScript copied into dir/node_modules (e.g. tf.node.js needs
 * `long`) and copies what they reach from nm: a package's package.json and the files required. Node's
 * built-ins, the packages already there and NOT_NEEDED are skipped; anything unresolvable is an error.
 */
function copyRequiredPackages(dir: string, nm: string, versions: Record<string, string>): void {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const dst = path.join(dir, 'node_modules');
  const todo = listFiles(dst).filter((f) => f.endsWith('.js')).map((f) => path.join(nm, f));
  const seen = new Set(todo);
  while (todo.length) {
    const file = todo.pop()!;
    const req = createRequire(file);
    for (const spec of requiresOf(fs.readFileSync(file, 'utf8'))) {
      const bare = !spec.startsWith('.') && !path.isAbsolute(spec);
      if (builtins.has(spec) || (bare && NOT_NEEDED[spec.split('/')[0]!] !== undefined)) continue;
      let resolved: string;
      try {
        resolved = req.resolve(spec);
      } catch {
        throw new Error(`${path.relative(nm, file)} requires '${spec}', which is not installed here (run npm install on the build machine)`);
      }
      const rel = path.relative(nm, resolved);
      if (rel.startsWith('..')) throw new Error(`${path.relative(nm, file)} requires '${spec}' from outside node_modules (${resolved})`);
      if (seen.has(resolved)) continue;
      seen.add(resolved);
      todo.push(resolved);
      copy(resolved, path.join(dst, rel));
      if (bare) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        const pkgJson = path.join(nm, pkg, 'package.json');
        if (!fs.existsSync(path.join(dst, pkg, 'package.json'))) {
          copy(pkgJson, path.join(dst, pkg, 'package.json'));
          const licence = fs.readdirSync(path.join(nm, pkg)).find((f) => /^licen[cs]e/i.test(f));
          if (licence) copy(path.join(nm, pkg, licence), path.join(dst, pkg, licence));
          versions[pkg] = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
        }
      }
    }
  }
}

/** Builds the bundle (see the header). Throws when a file is missing or the result exceeds 64 MiB. */
export async function buildGpuBundle(opts: BuildOptions): Promise<BuildResult> {
  if (!(PLATFORMS as readonly string[]).includes(opts.platform)) throw new Error(`unknown platform '${opts.platform}': expected one of ${PLATFORMS.join(', ')}`);
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new Error(`esbuild is not installed (it comes with vite/tsx; run npm install): ${e instanceof Error ? e.message : String(e)}`);
  }
  const nm = opts.nodeModules ?? path.join(ROOT, 'node_modules');
  const top = `layerforge-gpu-check-${opts.platform}`;
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'layerforge-gpu-bundle-'));
  try {
    const dir = path.join(stage, top);
    fs.mkdirSync(dir, { recursive: true });
    await esbuild.build({
      entryPoints: [path.join(ROOT, 'scripts', 'gpu-bundle', 'entry.ts')],
      outfile: path.join(dir, 'gpu-check.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // The backends must all register into the one tfjs-core of node_modules/; webgpu loads dawn.node by path.
      external: ['@tensorflow/*', 'webgpu'],
      plugins: [onlyGpuBench()],
      banner: { js: '// Layerforge GPU check: built by scripts/gpu-bundle/build.ts (npm run gpu-bundle). Run: node gpu-check.mjs [--json] [--batches N] [--templates a,b]' },
      logLevel: 'silent',
    });

    const versions: Record<string, string> = {};
    const req = createRequire(path.join(nm, 'noop.js'));
    for (const [pkg, files] of Object.entries(TFJS_PACKAGES)) {
      const src = path.join(nm, pkg);
      const dst = path.join(dir, 'node_modules', pkg);
      copy(path.join(src, 'package.json'), path.join(dst, 'package.json'));
      for (const f of files) copy(path.join(src, f), path.join(dst, f));
      versions[pkg] = (req(path.join(src, 'package.json')) as { version: string }).version;
    }
    copyRequiredPackages(dir, nm, versions);
    const wg = path.join(nm, 'webgpu');
    for (const f of ['package.json', 'index.js', 'LICENSE.md']) copy(path.join(wg, f), path.join(dir, 'node_modules', 'webgpu', f));
    const dawnDir = path.join(wg, 'dist', opts.platform);
    if (!fs.existsSync(path.join(dawnDir, 'dawn.node'))) throw new Error(`${path.join(dawnDir, 'dawn.node')} is missing: the installed webgpu package has no ${opts.platform} build`);
    // Every file of the folder: on Windows d3dcompiler_47.dll and dxcompiler.dll must sit beside dawn.node.
    for (const f of fs.readdirSync(dawnDir)) copy(path.join(dawnDir, f), path.join(dir, 'node_modules', 'webgpu', 'dist', opts.platform, f));
    versions.webgpu = (req(path.join(wg, 'package.json')) as { version: string }).version;

    // The templates gpu.ts trains (imported here, not at the top: it loads the engine's modules).
    const { GPU_TEMPLATES } = await import('../bench/gpu');
    for (const t of GPU_TEMPLATES) copy(path.join(ROOT, 'resources', 'templates', `${t}.json`), path.join(dir, 'resources', 'templates', `${t}.json`));
    for (const f of ['pytorch-gpu.py', 'pytorch-templates.py']) copy(path.join(ROOT, 'scripts', 'bench', f), path.join(dir, 'scripts', 'bench', f));

    const manifest: BundleManifest = { platform: opts.platform, built: new Date().toISOString(), commit: gitCommit(), versions };
    fs.writeFileSync(path.join(dir, 'bundle.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    fs.writeFileSync(path.join(dir, 'README.md'), readme(opts.platform, manifest));

    const files = listFiles(dir).map((f) => `${top}/${f}`);
    fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
    const tar = spawnSync('tar', ['-czf', path.resolve(opts.out), '-C', stage, top], { encoding: 'utf8' });
    if (tar.error || tar.status !== 0) throw new Error(`tar failed: ${tar.error?.message ?? tar.stderr.trim()}`);
    const bytes = fs.statSync(opts.out).size;
    if (bytes > MAX_BUNDLE_BYTES) throw new Error(`the bundle is ${(bytes / 2 ** 20).toFixed(1)} MiB, over the 64 MiB limit`);
    return { file: path.resolve(opts.out), bytes, files, topFolder: top };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

async function cli(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { platform: { type: 'string' }, out: { type: 'string' } }, strict: true });
  const platform = (values.platform ?? hostPlatform()) as BundlePlatform;
  if (!(PLATFORMS as readonly string[]).includes(platform)) {
    process.stderr.write(`gpu-bundle: unknown platform '${platform}': expected one of ${PLATFORMS.join(', ')}\n`);
    return 2;
  }
  const started = Date.now();
  const r = await buildGpuBundle({ platform, out: values.out ?? defaultOut(platform) });
  process.stdout.write(`${r.file}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB, ${r.files.length} files, built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`On the GPU machine: tar -xzf ${path.basename(r.file)} && cd ${r.topFolder} && node gpu-check.mjs\n`);
  return 0;
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  try {
    process.exitCode = await cli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`gpu-bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
