/**
 * Summary image export in the browser: the SVG of summarySvg.ts as a file, or drawn onto a canvas at
 * 2x (or more) and saved as a PNG. Downloads go through a Blob link.
 */
import type { GraphState } from '../store/graphStore';
import { analyzeDoc } from '../store/analysis';
import { buildSummarySvg, type SummaryImage } from './summarySvg';

export type ImageFormat = 'png' | 'svg';

/** Browsers refuse canvases past about 16k px a side or ~268 M pixels; stay well inside. */
export const MAX_CANVAS_SIDE = 16_384;
export const MAX_CANVAS_PIXELS = 120_000_000;

export function summaryImageOf(state: Pick<GraphState, 'doc' | 'meta'>, caption = true): SummaryImage {
  return buildSummarySvg(state.doc, analyzeDoc(state.doc), { title: state.meta.name, caption });
}

export function imageFileName(modelName: string, format: ImageFormat): string {
  const base = modelName.trim().replace(/[\\/:*?"<>|]+/g, '-').replace(/\s+/g, '-') || 'model';
  return `${base}.${format}`;
}

/** The largest scale <= `wanted` the browser can draw for a width x height image. */
export function fitScale(width: number, height: number, wanted: number): number {
  const bySide = MAX_CANVAS_SIDE / Math.max(width, height);
  const byArea = Math.sqrt(MAX_CANVAS_PIXELS / (width * height));
  return Math.max(0.1, Math.min(wanted, bySide, byArea));
}

export function svgBlob(svg: string): Blob {
  return new Blob([svg], { type: 'image/svg+xml' });
}

/** Draws the SVG onto a canvas at `scale` and encodes it as PNG. */
export async function svgToPng(image: SummaryImage, wantedScale: number): Promise<{ blob: Blob; scale: number; width: number; height: number }> {
  const scale = fitScale(image.width, image.height, wantedScale);
  const width = Math.round(image.width * scale);
  const height = Math.round(image.height * scale);
  const url = URL.createObjectURL(svgBlob(image.svg));
  try {
    const img = new Image();
    img.decoding = 'sync';
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('the browser could not draw the SVG'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas in this browser');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(img, 0, 0, width, height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
    if (!blob) throw new Error(`the browser could not encode a ${width}×${height} PNG`);
    return { blob, scale, width, height };
  } finally {
    URL.revokeObjectURL(url);
  }
}

