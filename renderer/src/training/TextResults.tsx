/**
 * What the dashboard shows of a text-classification run (a run on labelled text): the misclassified test
 * texts, most confident first (the 'misclassified-texts' view of the classification task), and Predict, the
 * trained model's classes for a text typed in.
 */
import { useState } from 'react';
import type { RunDetail, TextPredictions, TextResultTexts } from '../../../shared/api';
import { MAX_PREDICT_TEXT_CHARS } from '../../../shared/api';
import { pct } from './chartData';
import { visibleText } from './LanguageViews';
import { training } from './runsStore';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The 'misclassified-texts' view: each wrong test text with its true and predicted class and the model's confidence. */
export function MisclassifiedTexts({ texts, count }: { texts: TextResultTexts; count: number }) {
  if (texts.items.length === 0) return <div className="lf-muted">No test text is misclassified.</div>;
  return (
    <div className="lf-text-results">
      <div className="lf-muted">
        {texts.total.toLocaleString()} of {count.toLocaleString()} test texts are misclassified
        {texts.items.length < texts.total ? `; the ${texts.items.length} the model was surest of are shown` : ''}.
      </div>
      <ol className="lf-text-list" data-testid="misclassified-texts" data-count={texts.items.length} data-total={texts.total}>
        {texts.items.map((t) => (
          <li key={t.index} className="lf-text-item" data-testid="misclassified-text" data-truth={t.truth} data-predicted={t.predicted} data-confidence={t.confidence}>
            <div className="lf-text-head">
              <span className="lf-text-label">
                true <b>{t.truth}</b>
              </span>
              <span className="lf-text-label bad">
                predicted <b>{t.predicted}</b>
              </span>
              <span className="lf-text-conf" title="the model's probability for the class it predicted">
                {pct(t.confidence)} sure
              </span>
              <span className="lf-muted lf-text-source" title={t.source ? `test text ${t.index + 1}, from ${t.source}` : `test text ${t.index + 1}`}>
                {t.source ?? `#${t.index + 1}`}
              </span>
            </div>
            <p className="lf-text-body" data-testid="misclassified-text-body">
              {visibleText(t.text)}
            </p>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** Predict: a text typed in, the predicted class with its probability and the three likeliest classes. */
export function PredictTextPanel({ run }: { run: RunDetail }) {
  const [text, setText] = useState('');
  const [result, setResult] = useState<{ text: string; out: TextPredictions } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    if (!text.trim() || busy) return;
    setBusy(true);
    setFailure(null);
    try {
      setResult({ text, out: await training.predictText({ runId: run.id, texts: [text] }) });
    } catch (e) {
      setResult(null);
      setFailure(message(e));
    } finally {
      setBusy(false);
    }
  };
  const item = result?.out.items[0];
  const top = item
    ? item.probabilities
        .map((p, i) => ({ p, name: result!.out.classNames[i] ?? String(i) }))
        .sort((a, b) => b.p - a.p)
        .slice(0, 3)
    : [];
  return (
    <section className="lf-predict" data-testid="predict-text-panel">
      <h4>Predict a text</h4>
      <form
        className="lf-predict-text"
        onSubmit={(e) => {
          e.preventDefault();
          void go();
        }}
      >
        <textarea
          className="lf-input lf-predict-text-input"
          rows={4}
          value={text}
          maxLength={MAX_PREDICT_TEXT_CHARS}
          placeholder="Type or paste a text to classify"
          aria-label="Text to classify"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void go();
            }
          }}
          data-testid="predict-text-input"
        />
        <div className="lf-row-buttons">
          <button type="submit" className="lf-btn lf-btn-primary" disabled={busy || !text.trim()} data-testid="predict-text-button" title="Predict (Ctrl+Enter)">
            {busy ? 'Predicting…' : 'Predict'}
          </button>
        </div>
      </form>
      {failure && (
        <div className="lf-train-error" role="alert" data-testid="predict-text-error">
          {failure}
        </div>
      )}
      {item && (
        <div className="lf-predict-result" data-testid="predict-text-result" data-predicted={item.predicted}>
          <div>
            <b data-testid="predict-text-class">{item.predicted}</b>{' '}
            <span className="lf-muted" data-testid="predict-text-confidence">
              ({pct(item.confidence)} sure)
            </span>
          </div>
          <div className="lf-perclass" data-testid="predict-text-top">
            {top.map((t) => (
              <div key={t.name} className="lf-perclass-row" data-testid="predict-text-top-row">
                <span className="lf-perclass-name" title={t.name}>
                  {t.name}
                </span>
                <span className="lf-perclass-bar">
                  <span style={{ width: `${(t.p * 100).toFixed(1)}%` }} />
                </span>
                <span className="lf-perclass-val">{pct(t.p)}</span>
              </div>
            ))}
          </div>
          <div className="lf-muted" data-testid="predict-text-tokens">
            {item.tokens.toLocaleString()} token{item.tokens === 1 ? '' : 's'}
            {item.unknown ? ` · ${item.unknown.toLocaleString()} not in the vocabulary` : ''}
            {item.truncated ? ' · cut to the model’s input length' : ''}
          </div>
        </div>
      )}
    </section>
  );
}
