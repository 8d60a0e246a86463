/** A test sample as the insight views show it: an image (scaled up, pixels kept sharp), a table row or a text with its tokens. */
import type { SampleInfo, SampleView as SampleViewData } from '../../../shared/api/insight';
import { pct } from '../training/chartData';

export function SampleBody({ view, size = 96 }: { view: SampleViewData; size?: number }) {
  if (view.kind === 'image') {
    const scale = Math.max(1, Math.floor(size / Math.max(view.width, view.height)));
    return <img className="lf-ins-pixel" src={view.image} alt="test image" width={view.width * scale} height={view.height * scale} data-testid="sample-image" />;
  }
  if (view.kind === 'row') {
    return (
      <dl className="lf-ins-row" data-testid="sample-row">
        {Object.entries(view.values).map(([k, v]) => (
          <div key={k}>
            <dt title={k}>{k}</dt>
            <dd title={String(v)}>{String(v)}</dd>
          </div>
        ))}
      </dl>
    );
  }
  return (
    <div className="lf-ins-text" data-testid="sample-text">
      <div className="lf-ins-text-body">{view.text}</div>
      {view.tokens.length > 0 && (
        <div className="lf-muted lf-ins-tokens" title={view.tokens.join(' ')}>
          {view.tokens.length} tokens: {view.tokens.slice(0, 24).join(' · ')}
          {view.tokens.length > 24 ? ' …' : ''}
        </div>
      )}
    </div>
  );
}

/** True and predicted class of a sample, the predicted one's probability; "wrong" marked. */
export function SampleVerdict({ info, classNames }: { info: SampleInfo; classNames: readonly string[] }) {
  if (info.label === null && info.predicted === null) return null;
  const name = (i: number | null) => (i === null ? '–' : (classNames[i] ?? String(i)));
  const classification = classNames.length > 0;
  const wrong = classification && info.label !== null && info.predicted !== null && info.label !== info.predicted;
  const p = info.predicted !== null ? info.probabilities?.[info.predicted] : undefined;
  return (
    <div className={`lf-ins-verdict${wrong ? ' wrong' : ''}`} data-testid="sample-verdict" data-correct={!wrong}>
      <span>
        true <b>{classification ? name(info.label) : info.label}</b>
      </span>
      <span>
        predicted <b>{classification ? name(info.predicted) : info.predicted}</b>
        {p !== undefined ? ` (${pct(p)})` : ''}
      </span>
      {wrong && <span className="lf-ins-wrong">misclassified</span>}
    </div>
  );
}
