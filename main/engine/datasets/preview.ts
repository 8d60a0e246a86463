/** Preview for the UI: a few sample images per class as PNG data URLs, plus class counts per split. */
import { PNG } from 'pngjs';
import type { DatasetPreview } from '../../../shared/api/datasets';
import type { LoadedDataset, Split } from './types';

/** Encodes one HWC uint8 image (1 or 3 channels) as a PNG data URL. */
export function imageToPngDataUrl(pixels: Uint8Array, height: number, width: number, channels: number): string {
  const png = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) {
    const s = p * channels;
    const o = p * 4;
    png.data[o] = pixels[s]!;
    png.data[o + 1] = pixels[s + (channels >= 3 ? 1 : 0)]!;
    png.data[o + 2] = pixels[s + (channels >= 3 ? 2 : 0)]!;
    png.data[o + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

export function classCounts(split: Split, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.labels[i]!]! += 1;
  return counts;
}

/** Up to `perClass` training images of each class (the first ones in the split's order). */
export function previewDataset(ds: LoadedDataset, perClass = 8): DatasetPreview {
  const classNames = ds.info.classNames;
  const [h, w, c] = ds.shape;
  const per = h * w * c;
  const picked: number[][] = classNames.map(() => []);
  let remaining = classNames.length;
  for (let i = 0; i < ds.train.count && remaining > 0; i++) {
    const list = picked[ds.train.labels[i]!];
    if (list && list.length < perClass) {
      list.push(i);
      if (list.length === perClass) remaining--;
    }
  }
  return {
    id: ds.info.id,
    classNames: [...classNames],
    trainCounts: classCounts(ds.train, classNames.length),
    testCounts: classCounts(ds.test, classNames.length),
    samples: picked.map((idx, label) => ({
      label,
      className: classNames[label]!,
      images: idx.map((i) => imageToPngDataUrl(ds.train.images.subarray(i * per, (i + 1) * per), h, w, c)),
    })),
  };
}
