// electron-builder: the installers of the desktop app (`npm run dist` builds those of the current platform).
// Linux: AppImage + deb; macOS: dmg; Windows: NSIS. What goes in: the electron-vite build (out/main,
// out/preload, out/renderer), package.json and the production dependencies the main process loads, without
// source maps, TypeScript sources, tests or the renderer's own packages (React & co. are bundled into
// out/renderer). Native code is unpacked from app.asar (a .node addon and the libraries beside it must be
// real files): tfjs-node(-gpu), onnxruntime-node, and of the `webgpu` package only dist/<platform>-<arch>/.
// `npm run dist:files` lists what would go into app.asar without downloading Electron (scripts/dist/files.mjs).
// A TypeScript config: electron-builder loads it with jiti.

import type { Configuration } from 'electron-builder';
// Double-clicking a `.layerforge` project opens it in the app (plain `.json` projects open through File ▸ Open…):
// the associations are declared beside the code that opens the files.
import { FILE_ASSOCIATIONS } from './shared/shell/fileTypes';

export { FILE_ASSOCIATIONS };

/** Packages the renderer bundles into out/renderer and the main process never loads, and dev-only runtime (tsx, for the CLI). */
export const NOT_IN_MAIN = ['react', 'react-dom', 'scheduler', '@xyflow', 'recharts', 'elkjs', 'zustand', 'tsx', 'esbuild', '@esbuild'];

/**
 * Only the `webgpu` binary of the platform being built ships (its dist/ holds five: 132 MB): dist/linux-x64,
 * win32-arm64 …, and on macOS dist/darwin-universal. One top-level pattern with electron-builder's macros:
 * per-platform `files` would be merged as a separate file set and let everything else in.
 */
export const WEBGPU_OTHER_PLATFORMS = '!node_modules/webgpu/dist/!(${platform}-${arch}|${platform}-universal){,/**}';

const config: Configuration = {
  appId: 'org.layerforge.app',
  productName: 'Layerforge',
  copyright: 'Copyright © Layerforge contributors (MIT licence)',
  directories: { output: 'dist', buildResources: 'resources/icons' },
  artifactName: '${productName}-${version}-${os}-${arch}.${ext}',
  files: [
    'out/main/**',
    'out/preload/**',
    'out/renderer/**',
    'package.json',
    '!**/*.map',
    '!**/*.{ts,tsx,mts,cts}',
    '!**/*.{test,spec}.{js,mjs,cjs}',
    `!node_modules/{${NOT_IN_MAIN.join(',')}}{,/**}`,
    WEBGPU_OTHER_PLATFORMS,
  ],
  // Help > Documentation opens the README from the app's resources folder (openDocumentation in main/index.ts).
  extraResources: [{ from: 'README.md', to: 'README.md' }],
  asar: true,
  asarUnpack: [
    'node_modules/@tensorflow/tfjs-node/**',
    'node_modules/@tensorflow/tfjs-node-gpu/**',
    'node_modules/onnxruntime-node/**',
    'node_modules/webgpu/dist/**',
    'node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm',
  ],
  // The native addons are N-API prebuilt binaries, which run in Electron unchanged: nothing to rebuild
  // (a rebuild would need a C++ toolchain and @electron/rebuild on every build machine).
  npmRebuild: false,
  fileAssociations: FILE_ASSOCIATIONS.map((a) => ({ ...a })),
  // Electron's fuses, flipped in the packaged binary: it cannot be used as a plain Node (ELECTRON_RUN_AS_NODE),
  // NODE_OPTIONS and --inspect are ignored, the app loads only from app.asar, whose integrity is checked at
  // start-up on macOS and Windows, and cookies are encrypted at rest. Nothing of ours needs the first three
  // (training runs in worker threads, not in a child Electron-as-Node).
  electronFuses: {
    runAsNode: false,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    onlyLoadAppFromAsar: true,
    enableEmbeddedAsarIntegrityValidation: true,
    enableCookieEncryption: true,
  },
  linux: {
    target: ['AppImage', 'deb'],
    icon: 'resources/icons/png',
    category: 'Development',
    synopsis: 'Build, train, inspect and export deep-learning models visually',
    maintainer: 'Layerforge contributors',
    mimeTypes: ['application/x-layerforge'],
  },
  deb: { depends: ['libgtk-3-0', 'libnotify4', 'libnss3', 'libxss1', 'libxtst6', 'xdg-utils', 'libatspi2.0-0', 'libuuid1', 'libsecret-1-0'] },
  mac: {
    target: ['dmg'],
    icon: 'resources/icons/icon.icns',
    category: 'public.app-category.developer-tools',
  },
  dmg: { title: '${productName} ${version}' },
  win: {
    target: ['nsis'],
    icon: 'resources/icons/icon.ico',
  },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true },
  publish: null,
};

export default config;
