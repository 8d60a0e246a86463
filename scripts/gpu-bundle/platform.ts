/** The platforms a GPU-check bundle can be built for: the folders of the `webgpu` package's dist/. */
export const PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-universal', 'win32-x64', 'win32-arm64'] as const;
export type BundlePlatform = (typeof PLATFORMS)[number];

/** What build.ts writes beside the bundle's script (bundle.json). */
export interface BundleManifest {
  platform: string;
  /** ISO date of the build. */
  built: string;
  /** The repository's commit the bundle was built from. */
  commit: string;
  /** Versions of the packages inside (tfjs, webgpu). */
  versions: Record<string, string>;
}

/** This machine's folder name in webgpu's dist/ (the package's own rule: macOS is 'universal'). */
export function hostPlatform(): string {
  return `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
}
