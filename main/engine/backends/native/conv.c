/*
 * 3x3 convolutions (Winograd / direct) where they beat XNNPACK.
 * Same rules as kernels.c: stack-free leaf functions on heap offsets, no data, no calls (build.mjs checks).
 * Export names must be unique across the native C files.
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef float f32;
