// The installers' configuration (electron-builder.config.ts), checked with electron-builder's own pattern
// matcher (app-builder-lib's FileMatcher, the one it filters node_modules and asarUnpack with), for every
// platform: the installers themselves cannot be built here (Electron's zips are a download).
import type { Stats } from 'node:fs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMatcher } from 'app-builder-lib/out/fileMatcher';
import type { Configuration } from 'electron-builder';
import { describe, expect, it } from 'vitest';
import config, { NOT_IN_MAIN } from '../../electron-builder.config';
import { FILE_ASSOCIATIONS } from '../../shared/shell/fileTypes';

const root = fileURLToPath(new URL('../..', import.meta.url));

const expand = (platform: string, arch: string) => (p: string) => p.replace(/\$\{platform\}/g, platform).replace(/\$\{arch\}/g, arch);
const fileStat = { isDirectory: () => false } as unknown as Stats;
const patterns = (v: Configuration['files'] | Configuration['asarUnpack']): string[] =>
  Array.isArray(v) ? (v as unknown[]).filter((p): p is string => typeof p === 'string') : typeof v === 'string' ? [v] : [];

/** What electron-builder keeps of node_modules: every file, minus the exclusions of `files` (getNodeModuleFileMatcher). */
function nodeModulesFilter(platform: string, arch: string): (rel: string) => boolean {
  const excludes = patterns(config.files).filter((p) => p.startsWith('!'));
  const filter = new FileMatcher(root, '/app', expand(platform, arch), ['**/*', ...excludes]).createFilter();
  return (rel) => filter(join(root, rel), fileStat);
}

describe('electron-builder.config.ts', () => {
  it('builds AppImage and deb on Linux, dmg on macOS, NSIS on Windows, with our icons', () => {
    expect(config.linux?.target).toEqual(['AppImage', 'deb']);
    expect(config.mac?.target).toEqual(['dmg']);
    expect(config.win?.target).toEqual(['nsis']);
    for (const icon of [config.linux?.icon, config.mac?.icon, config.win?.icon]) expect(typeof icon === 'string' && existsSync(join(root, icon)), String(icon)).toBe(true);
    expect(config.linux?.icon).toBe('resources/icons/png');
    expect(config.publish).toBeNull();
    expect(config.npmRebuild).toBe(false);
  });

  it('flips Electron’s fuses: no run-as-Node, NODE_OPTIONS or --inspect; app.asar only, integrity-checked', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      enableCookieEncryption: true,
    });
    expect(config.asar).toBe(true);
  });

  it('associates .layerforge projects (not .json) with the app', () => {
    expect(config.fileAssociations).toEqual(FILE_ASSOCIATIONS);
    expect(FILE_ASSOCIATIONS.map((a) => a.ext)).toEqual(['layerforge']);
    expect(FILE_ASSOCIATIONS[0]).toMatchObject({ name: 'Layerforge project', mimeType: 'application/x-layerforge', role: 'Editor' });
    expect(config.linux?.mimeTypes).toEqual(['application/x-layerforge']);
  });

  it('ships the README beside app.asar for Help > Documentation (openDocumentation reads resourcesPath/README.md)', () => {
    expect(config.extraResources).toEqual([{ from: 'README.md', to: 'README.md' }]);
    expect(existsSync(join(root, 'README.md'))).toBe(true);
  });

  it('packs only the build output and package.json of the app itself', () => {
    const includes = patterns(config.files).filter((p) => !p.startsWith('!'));
    expect(includes).toEqual(['out/main/**', 'out/preload/**', 'out/renderer/**', 'package.json']);
  });

  it('keeps only the webgpu binary of the platform built, and no source maps, TypeScript or renderer packages', () => {
    const cases: [string, string, string][] = [
      ['linux', 'x64', 'linux-x64'],
      ['linux', 'arm64', 'linux-arm64'],
      ['win32', 'x64', 'win32-x64'],
      ['win32', 'arm64', 'win32-arm64'],
      ['darwin', 'arm64', 'darwin-universal'],
      ['darwin', 'x64', 'darwin-universal'],
    ];
    const all = ['linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64', 'darwin-universal'];
    for (const [platform, arch, kept] of cases) {
      const keep = nodeModulesFilter(platform, arch);
      for (const dir of all) expect(keep(`node_modules/webgpu/dist/${dir}/dawn.node`), `${platform}-${arch}: ${dir}`).toBe(dir === kept);
      expect(keep('node_modules/webgpu/index.js')).toBe(true);
      expect(keep('node_modules/@tensorflow/tfjs/dist/tf.node.js')).toBe(true);
      expect(keep('node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')).toBe(true);
      expect(keep('node_modules/@tensorflow/tfjs/dist/tf.node.js.map')).toBe(false);
      expect(keep('node_modules/protobufjs/src/util.ts')).toBe(false);
      for (const pkg of NOT_IN_MAIN) expect(keep(`node_modules/${pkg}/package.json`), pkg).toBe(false);
    }
  });

  it('unpacks native code from app.asar: tfjs-node(-gpu), onnxruntime-node, webgpu, and the wasm binaries', () => {
    const unpack = new FileMatcher(root, '/app', expand('linux', 'x64'), patterns(config.asarUnpack)).createFilter();
    const unpacked = (rel: string) => unpack(join(root, rel), fileStat);
    for (const rel of [
      'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node',
      'node_modules/@tensorflow/tfjs-node/deps/lib/libtensorflow.so.2',
      'node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'node_modules/webgpu/dist/linux-x64/dawn.node',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
    ]) {
      expect(unpacked(rel), rel).toBe(true);
    }
    expect(unpacked('node_modules/@tensorflow/tfjs/dist/tf.node.js')).toBe(false);
    expect(unpacked('out/main/index.js')).toBe(false);
  });
});
