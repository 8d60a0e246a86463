import { describe, expect, it } from 'vitest';
import { explainNativeLoadError } from './nativeLoad';

const PKG = '@tensorflow/tfjs-node-gpu';
const BINDING = '/app/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node';

describe('explainNativeLoadError: which library tfjs-node-gpu could not load, in words to act on', () => {
  it('a missing CUDA 11 runtime (the usual case on a CUDA 12 machine)', () => {
    const m = explainNativeLoadError(PKG, `libcudart.so.11.0: cannot open shared object file: No such file or directory`);
    expect(m).toContain('is installed but cannot load');
    expect(m).toContain('the CUDA runtime (libcudart.so.11.0) is missing');
    expect(m).toMatch(/CUDA 11\.2 and cuDNN 8\.1/);
    expect(m).toMatch(/webgpu/);
  });

  it('a missing cuDNN 8, found inside a longer dlopen message', () => {
    const m = explainNativeLoadError(PKG, `Error: libcudnn.so.8: cannot open shared object file: No such file or directory\n    at Module._extensions..node (node:internal/modules/cjs/loader:1460:18)`);
    expect(m).toContain('cuDNN (libcudnn.so.8) is missing');
  });

  it('a missing libtensorflow (its download at install failed or was skipped)', () => {
    const m = explainNativeLoadError(PKG, `${BINDING}: libtensorflow.so.2: cannot open shared object file: No such file or directory`);
    expect(m).toContain('the TensorFlow C library (libtensorflow.so.2) is missing');
    expect(m).toMatch(/npm rebuild @tensorflow\/tfjs-node-gpu/);
  });

  it('no NVIDIA driver', () => {
    expect(explainNativeLoadError(PKG, 'libcuda.so.1: cannot open shared object file: No such file or directory')).toContain('install the NVIDIA driver');
  });

  it('Windows DLLs and a macOS dylib', () => {
    expect(explainNativeLoadError(PKG, 'Error loading cudart64_110.dll: The specified module could not be found.')).toContain('(cudart64_110.dll)');
    expect(explainNativeLoadError('@tensorflow/tfjs-node', 'dlopen(x.node): Library not loaded: @rpath/libtensorflow.2.dylib')).toContain('(libtensorflow.2.dylib)');
  });

  it('a binding that was never built, and a too-old C library', () => {
    expect(explainNativeLoadError(PKG, `Cannot find module '${BINDING}'`)).toMatch(/was not built/);
    expect(explainNativeLoadError(PKG, "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found")).toContain('GLIBC_2.38');
  });

  it('null for an error that names no library', () => {
    expect(explainNativeLoadError(PKG, 'something else went wrong')).toBeNull();
  });
});
