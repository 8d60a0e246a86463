import { describe, expect, it } from 'vitest';
import { adapterReport, describeAdapter, isSoftwareAdapter } from './webgpu';

describe('webgpu adapter report', () => {
  it('software adapters: the fallback flag, or llvmpipe / lavapipe / SwiftShader / WARP in the names', () => {
    expect(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', device: 'swiftshader device' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'x' }, true)).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'x', isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA GeForce RTX 3080' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' })).toBe(false);
  });

  it('describes the adapter in one line, saying when it runs on the CPU', () => {
    const hw = adapterReport({ info: { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3080' } });
    expect(hw.software).toBe(false);
    expect(describeAdapter(hw)).toBe('nvidia ampere (NVIDIA GeForce RTX 3080)');
    const sw = adapterReport({ info: { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25', isFallbackAdapter: true } });
    expect(describeAdapter(sw)).toBe('mesa software (llvmpipe: Mesa 25), a software adapter (runs on the CPU)');
    expect(describeAdapter(sw, false)).toBe('mesa software (llvmpipe: Mesa 25)');
    expect(describeAdapter(adapterReport({}))).toBe('unknown adapter');
  });
});
