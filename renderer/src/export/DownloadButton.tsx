/** A button that downloads something the engine wrote (an export, a run folder) to the browser's computer. */
import { useState } from 'react';
import type { DownloadRequest } from '../../../shared/api';
import { accessToken, getEngine } from '../api/client';
import { uiStore } from '../store/uiStore';
import { describeDownload, downloadFromEngine, saveByLink } from './download';
import { errorText } from './flows';

export function DownloadButton({ req, label, title, testId, className = 'lf-btn', disabled = false }: { req: DownloadRequest; label: string; title: string; testId: string; className?: string; disabled?: boolean }) {
  const [busy, setBusy] = useState(false);
  const start = async () => {
    setBusy(true);
    try {
      const d = await downloadFromEngine(getEngine(), req, {
        fetch: (url, init) => fetch(url, init),
        save: saveByLink,
        token: accessToken(),
      });
      uiStore.getState().notify('info', `Downloading ${describeDownload(d)}`);
    } catch (e) {
      uiStore.getState().notify('error', `Download failed: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" className={className} disabled={disabled || busy} onClick={() => void start()} title={title} aria-label={title} data-testid={testId} aria-busy={busy}>
      {label}
    </button>
  );
}
