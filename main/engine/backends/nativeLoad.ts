/**
 * Why @tensorflow/tfjs-node(-gpu) failed to load, in words a user can act on. Its binding is
 * `tfjs_binding.node`, linked against libtensorflow (downloaded at install into
 * node_modules/@tensorflow/tfjs-node(-gpu)/deps/lib) and, for the GPU build, CUDA 11.x and cuDNN 8
 * (tfjs-node-gpu 4.22 is built with TensorFlow 2.9: CUDA 11.2, cuDNN 8.1). The loader's message names
 * the first library it could not open: "libcudart.so.11.0: cannot open shared object file: No such
 * file or directory", on Windows "The specified module could not be found", on macOS "Library not
 * loaded: @rpath/libtensorflow.2.dylib".
 */

interface KnownLibrary {
  test: RegExp;
  what: (found: string) => string;
}

const CUDA_HINT = 'tfjs-node-gpu 4.22 needs CUDA 11.2 and cuDNN 8.1 (current NVIDIA drivers ship CUDA 12, which it cannot use): install the CUDA 11 runtime libraries beside the driver, or use the webgpu backend, which needs no CUDA';

const LIBRARIES: KnownLibrary[] = [
  { test: /libcudart\.so[.\d]*|cudart64_\d+\.dll/i, what: (lib) => `the CUDA runtime (${lib}) is missing. ${CUDA_HINT}` },
  { test: /libcudnn[_a-z]*\.so[.\d]*|cudnn64_\d+\.dll/i, what: (lib) => `cuDNN (${lib}) is missing. ${CUDA_HINT}` },
  { test: /libcublas(?:Lt)?\.so[.\d]*|cublas(?:Lt)?64_\d+\.dll/i, what: (lib) => `cuBLAS (${lib}) is missing. ${CUDA_HINT}` },
  { test: /libcu(?:fft|rand|solver|sparse)\.so[.\d]*|cu(?:fft|rand|solver|sparse)64_\d+\.dll/i, what: (lib) => `a CUDA math library (${lib}) is missing. ${CUDA_HINT}` },
  { test: /libcuda\.so[.\d]*|nvcuda\.dll/i, what: (lib) => `the NVIDIA driver library (${lib}) is missing: install the NVIDIA driver (no NVIDIA GPU, or a container without the driver mounted)` },
  {
    test: /libtensorflow(?:_framework)?(?:\.so[.\d]*|\.[\d.]*dylib)|tensorflow\.dll/i,
    what: (lib) => `the TensorFlow C library (${lib}) is missing: it is downloaded when the package is installed, so that download failed or was skipped (npm install --ignore-scripts, or no network); reinstall the package with its install script allowed (npm rebuild @tensorflow/tfjs-node-gpu)`,
  },
];

/** The missing-library sentence for a binding's load error, or null when it names none we know. */
export function explainNativeLoadError(pkg: string, message: string): string | null {
  for (const lib of LIBRARIES) {
    const m = message.match(lib.test);
    if (m) return `${pkg} is installed but cannot load: ${lib.what(m[0])}`;
  }
  if (/tfjs_binding\.node/.test(message) && /cannot find module|no such file|not found/i.test(message)) {
    return `${pkg} is installed but its native binding (tfjs_binding.node) was not built: its install script did not run or failed; run npm rebuild ${pkg}`;
  }
  if (/GLIBC_[\d.]+' not found|GLIBCXX_[\d.]+' not found/.test(message)) {
    const v = message.match(/(GLIBC(?:XX)?_[\d.]+)/)?.[1] ?? 'a newer C library';
    return `${pkg} is installed but cannot load: it needs ${v}, newer than this system's`;
  }
  return null;
}
