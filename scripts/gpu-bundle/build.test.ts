/**
 * The offline GPU-check bundle: built for this machine's platform into a temp folder, checked for size
 * and contents, unpacked into a folder with no node_modules above it and run there with plain `node`
 * (no tsx, no repository). Here Dawn finds Mesa's software lavapipe, so the run reports a software
 * adapter, a wasm figure and a webgpu line. Cost: about 40 s of CPU, most of it lavapipe compiling
 * shaders for the one webgpu step.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BUNDLE_BYTES, buildGpuBundle, requiresOf, type BuildResult } from './build';
import { PLATFORMS, hostPlatform, type BundlePlatform } from './platform';
import { takeTemplates } from './check';

const platform = hostPlatform();
let esbuildMissing: string | null = null;
try {
  await import('esbuild');
} catch (e) {
  esbuildMissing = `esbuild is not installed (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
}
const tarMissing = spawnSync('tar', ['--version']).status === 0 ? null : 'no tar command';
const skipped =
  esbuildMissing ??
  tarMissing ??
  ((PLATFORMS as readonly string[]).includes(platform) ? null : `the webgpu package has no build for ${platform}`);

describe('requiresOf', () => {
  it('finds require calls, leaving comment lines out', () => {
    const src = "var a = require('long');\n// var s = require('seedrandom');\n * var x = require('xor4096');\nconst b = require(\"./lib/x\"), c = require('crypto');";
    expect(requiresOf(src)).toEqual(['long', './lib/x', 'crypto']);
  });
});

describe('takeTemplates', () => {
  it('takes --templates out of the bench options', () => {
    expect(takeTemplates(['--json', '--templates', 'cifar10-cnn', '--batches', '1'])).toEqual({ argv: ['--json', '--batches', '1'], templates: ['cifar10-cnn'] });
    expect(takeTemplates(['--templates=resnet-small,cifar10-cnn'])).toEqual({ argv: [], templates: ['resnet-small', 'cifar10-cnn'] });
    expect(takeTemplates(['--batches', '2'])).toEqual({ argv: ['--batches', '2'], templates: null });
    expect(() => takeTemplates(['--templates', 'mnist'])).toThrow(/unknown: mnist/);
    expect(() => takeTemplates(['--templates'])).toThrow(/comma-separated list of cifar10-cnn, resnet-small/);
  });
});

describe.skipIf(skipped !== null)(`GPU-check bundle for ${platform}${skipped ? ` (SKIPPED: ${skipped})` : ''}`, () => {
  let tmp: string;
  let built: BuildResult;
  let dir: string;
  const run = (args: string[], env: Record<string, string> = {}) => {
    const { NODE_OPTIONS: _drop, ...rest } = process.env;
    const r = spawnSync(process.execPath, ['gpu-check.mjs', ...args], { cwd: dir, encoding: 'utf8', timeout: 240_000, env: { ...rest, GALLIVM_PERF: 'nopt', ...env } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'layerforge-gpu-bundle-test-'));
    built = await buildGpuBundle({ platform: platform as BundlePlatform, out: path.join(tmp, 'out', 'bundle.tar.gz') });
    const where = path.join(tmp, 'run');
    fs.mkdirSync(where);
    const tar = spawnSync('tar', ['-xzf', built.file, '-C', where], { encoding: 'utf8' });
    expect(tar.status, tar.stderr).toBe(0);
    dir = path.join(where, built.topFolder);
  }, 120_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('is under 64 MiB and holds the check, pruned tfjs and only this platform\'s dawn.node', () => {
    expect(built.bytes).toBeLessThan(MAX_BUNDLE_BYTES);
    const top = built.topFolder;
    const inside = built.files.map((f) => f.slice(top.length + 1));
    for (const f of [
      'gpu-check.mjs',
      'bundle.json',
      'README.md',
      'resources/templates/cifar10-cnn.json',
      'resources/templates/resnet-small.json',
      'scripts/bench/pytorch-gpu.py',
      'scripts/bench/pytorch-templates.py',
      'node_modules/@tensorflow/tfjs/dist/tf.node.js',
      'node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js',
      'node_modules/@tensorflow/tfjs-layers/dist/tf-layers.node.js',
      'node_modules/@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.node.js',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
      'node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js',
      'node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js',
      'node_modules/long/package.json',
      'node_modules/webgpu/index.js',
      `node_modules/webgpu/dist/${platform}/dawn.node`,
    ]) {
      expect(inside, f).toContain(f);
    }
    // Pruned: one dawn.node, no source maps, no ESM trees of tfjs, no other bench modules' files.
    expect(inside.filter((f) => f.endsWith('dawn.node'))).toEqual([`node_modules/webgpu/dist/${platform}/dawn.node`]);
    expect(inside.filter((f) => f.endsWith('.map') || f.endsWith('.ts') || /dist\/(index|base)\.js$/.test(f))).toEqual([]);
    expect(inside.length).toBeLessThan(60);
    // Nothing above the unpacked folder provides packages: what runs is only what the bundle holds.
    for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) expect(fs.existsSync(path.join(d, 'node_modules')), d).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'bundle.json'), 'utf8'))).toMatchObject({ platform, versions: { '@tensorflow/tfjs': '4.22.0' } });
  });

  it('says clearly when the bundle is for another platform', () => {
    const manifest = path.join(dir, 'bundle.json');
    const original = fs.readFileSync(manifest, 'utf8');
    const other = platform === 'win32-x64' ? 'linux-x64' : 'win32-x64';
    fs.writeFileSync(manifest, original.replace(`"platform": "${platform}"`, `"platform": "${other}"`));
    try {
      const r = run(['--only', 'none']);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`NO GPU adapter: this bundle holds dawn.node for ${other}, but this machine is ${platform}`);
      expect(r.stderr).toContain(`npm run gpu-bundle -- --platform ${platform}`);
    } finally {
      fs.writeFileSync(manifest, original);
    }
  });

  it.skipIf(process.platform !== 'linux')('says clearly when Dawn finds no adapter at all (no Vulkan driver)', () => {
    const r = run(['--only', 'none'], { VK_ICD_FILENAMES: path.join(tmp, 'no-such-icd.json'), VK_DRIVER_FILES: path.join(tmp, 'no-such-icd.json') });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/gpu-check: NO GPU adapter found: no WebGPU adapter: Dawn found no usable Vulkan adapter/);
  });

  it('runs the GPU check with plain node: wasm figures, a webgpu line, the adapter named', () => {
    const r = run(['--json', '--batches', '1', '--templates', 'cifar10-cnn']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { figures: Array<{ id: string; value: number | null; note?: string }> };
    const byId = new Map(out.figures.map((f) => [f.id, f]));
    expect([...byId.keys()].sort()).toEqual(['gpu.cifar10-cnn.train.pytorch-cuda', 'gpu.cifar10-cnn.train.tensorflow-gpu', 'gpu.cifar10-cnn.train.wasm', 'gpu.cifar10-cnn.train.webgpu']);
    expect(byId.get('gpu.cifar10-cnn.train.wasm')!.value).toBeGreaterThan(0);
    expect(byId.get('gpu.cifar10-cnn.train.webgpu')).toBeDefined();
    expect(byId.get('gpu.cifar10-cnn.train.tensorflow-gpu')!.note).toMatch(/tfjs-node-gpu is not installed/);
    expect(r.stderr).toMatch(/gpu: cifar10-cnn on wasm: [\d.]+ img\/s/);
    expect(r.stderr).toMatch(/gpu: (cifar10-cnn on webgpu: [\d.]+ img\/s|webgpu not available: )/);
    // The adapter, first and last: a software one here (lavapipe), a hardware one on a GPU machine.
    const adapterLines = r.stderr.split('\n').filter((l) => /^gpu-check: (NO hardware GPU adapter found|NO GPU adapter found|hardware GPU adapter)/.test(l));
    expect(adapterLines.length).toBe(2);
    if (r.stderr.includes('llvmpipe')) {
      expect(adapterLines[0]).toContain('NO hardware GPU adapter found');
      expect(r.stderr).toContain('SOFTWARE adapter: not a GPU figure');
    }
  }, 240_000);
});
