/** Types of scripts/dist/icons.mjs (renders resources/icon.svg to every icon), for its tests. */
export const PNG_SIZES: number[];
export const ICO_SIZES: number[];
export const FAVICON_SIZES: number[];
export const ICNS_TYPES: [string, number][];
export function renderPng(svg: string, size: number): Promise<Buffer>;
export function encodeIco(images: { size: number; png: Buffer }[]): Buffer;
export function encodeIcns(pngBySize: Map<number, Buffer>): Buffer;
export function buildIcons(svg: string): Promise<Record<string, Buffer>>;
