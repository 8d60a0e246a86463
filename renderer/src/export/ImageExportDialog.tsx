/** Export image: the summary SVG of the open model, previewed, downloaded as SVG or as a PNG at 2x. */
import { useMemo, useState } from 'react';
import { graphStore, useGraph } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { downloadBlob } from '../project/io';
import { fitScale, imageFileName, summaryImageOf, svgBlob, svgToPng, type ImageFormat } from './image';
import { errorText } from './flows';
import { Modal } from './Modal';
import { closeExportDialog } from './store';

const SCALES = [1, 2, 3, 4] as const;

export function ImageExportDialog() {
  const doc = useGraph((s) => s.doc);
  const name = useGraph((s) => s.meta.name);
  const [format, setFormat] = useState<ImageFormat>('png');
  const [scale, setScale] = useState<number>(2);
  const [caption, setCaption] = useState(true);
  const [fileName, setFileName] = useState(() => imageFileName(name, 'png'));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const image = useMemo(() => summaryImageOf({ doc, meta: graphStore.getState().meta }, caption), [doc, caption]);
  const previewUrl = useMemo(() => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(image.svg)}`, [image]);
  const usedScale = fitScale(image.width, image.height, scale);

  const chooseFormat = (f: ImageFormat) => {
    setFormat(f);
    setFileName((old) => (/\.(png|svg)$/i.test(old) ? old.replace(/\.(png|svg)$/i, `.${f}`) : `${old}.${f}`));
  };

  const submit = async () => {
    const file = fileName.trim() || imageFileName(name, format);
    const withExt = file.toLowerCase().endsWith(`.${format}`) ? file : `${file}.${format}`;
    setBusy(true);
    setError(null);
    try {
      if (format === 'svg') {
        downloadBlob(svgBlob(image.svg), withExt);
        uiStore.getState().notify('info', `Exported ${withExt} (${image.width}×${image.height}, vector)`);
      } else {
        const png = await svgToPng(image, scale);
        downloadBlob(png.blob, withExt);
        uiStore.getState().notify('info', `Exported ${withExt} (${png.width}×${png.height} px)`);
      }
      closeExportDialog();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Export image" testid="image-export-dialog" wide>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="lf-export-preview" data-testid="image-preview">
          <img src={previewUrl} alt={`Summary diagram of ${name}`} />
        </div>
        <p className="lf-muted lf-export-size" data-testid="image-size">
          {image.width}×{image.height} px
          {format === 'png' ? ` · PNG ${Math.round(image.width * usedScale)}×${Math.round(image.height * usedScale)} px at ${usedScale === scale ? `${scale}x` : `${usedScale.toFixed(2)}x (the most this browser can draw)`}` : ' · vector, scales without loss'}
        </p>
        <div className="lf-export-row">
          <fieldset className="lf-export-choice">
            <legend className="lf-field-label">Format</legend>
            {(['png', 'svg'] as const).map((f) => (
              <label key={f} className={`lf-export-pill${format === f ? ' on' : ''}`}>
                <input type="radio" name="image-format" value={f} checked={format === f} onChange={() => chooseFormat(f)} data-testid={`image-format-${f}`} />
                {f === 'png' ? 'PNG (slides)' : 'SVG (papers)'}
              </label>
            ))}
          </fieldset>
          <label className="lf-field">
            <span className="lf-field-label">PNG scale</span>
            <select className="lf-input" value={scale} disabled={format !== 'png'} onChange={(e) => setScale(Number(e.target.value))} data-testid="image-scale">
              {SCALES.map((s) => (
                <option key={s} value={s}>
                  {s}x
                </option>
              ))}
            </select>
          </label>
          <label className="lf-export-check">
            <input type="checkbox" checked={caption} onChange={(e) => setCaption(e.target.checked)} data-testid="image-caption" />
            Caption with totals
          </label>
        </div>
        <label className="lf-field">
          <span className="lf-field-label">File name</span>
          <input className="lf-input" value={fileName} onChange={(e) => setFileName(e.target.value)} data-testid="image-file-name" spellCheck={false} />
        </label>
        {error && (
          <p className="lf-field-error" role="alert" data-testid="image-export-error">
            {error}
          </p>
        )}
        <p className="lf-muted">Drawn from the model itself (light background, fitted to the graph), not a screenshot. The browser downloads the file.</p>
        <div className="lf-row-buttons lf-right">
          <button type="button" className="lf-btn" onClick={closeExportDialog}>
            Cancel
          </button>
          <button type="submit" className="lf-btn lf-btn-primary" disabled={busy} data-testid="image-export-confirm">
            {busy ? 'Exporting…' : `Export ${format.toUpperCase()}`}
          </button>
        </div>
      </form>
    </Modal>
  );
}
