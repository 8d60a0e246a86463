/**
 * What the dashboard shows of a language-model run (the 'samples' and 'perplexity' views of its task):
 * "What it writes", each epoch's sample from a fixed prompt, newest first and updated live while the run
 * trains; Generate, the trained model continuing a prompt of yours with the text streamed as it is
 * written; and perplexity next to what guessing would give.
 */
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { MAX_GENERATE_TOKENS, type EpochPoint, type Evaluation, type RunDetail } from '../../../shared/api';
import { formatNumber } from './chartData';
import { training } from './runsStore';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Control characters (a bell in a fortune, a form feed) as their visible symbols (␇, ␌); line breaks (CRLF too) and tabs stay. */
export function visibleText(text: string): string {
  let out = '';
  for (const c of text.replace(/\r\n/g, '\n')) {
    const code = c.charCodeAt(0);
    out += c === '\n' || c === '\t' || (code >= 0x20 && code !== 0x7f) ? c : String.fromCharCode(code === 0x7f ? 0x2421 : 0x2400 + code);
  }
  return out;
}

/** The epochs that wrote a sample, newest first. */
export function samplesNewestFirst(points: readonly EpochPoint[]): (EpochPoint & { sample: NonNullable<EpochPoint['sample']> })[] {
  return points.filter((p): p is EpochPoint & { sample: NonNullable<EpochPoint['sample']> } => !!p.sample).reverse();
}

/** "What it writes": each epoch's sample (prompt muted, continuation plain), newest first. */
export const EpochSamples = memo(function EpochSamples({ points, live }: { points: readonly EpochPoint[]; live: boolean }) {
  const samples = samplesNewestFirst(points);
  if (samples.length === 0) {
    return (
      <div className="lf-muted" data-testid="lm-samples-empty">
        {live ? 'After each epoch the model writes from a fixed prompt; the first sample appears when epoch 1 ends.' : 'This run kept no samples.'}
      </div>
    );
  }
  return (
    <ol className="lf-samples" data-testid="lm-samples" data-count={samples.length}>
      {samples.map((p) => {
        const ppl = p.valMetrics?.perplexity ?? p.metrics?.perplexity;
        return (
          <li key={p.epoch} className="lf-sample" data-testid="lm-sample" data-epoch={p.epoch}>
            <div className="lf-sample-head">
              <b>epoch {p.epoch}</b>
              {ppl !== undefined && <span className="lf-muted">{p.valMetrics?.perplexity !== undefined ? 'validation ' : ''}perplexity {formatNumber(ppl)}</span>}
            </div>
            <pre className="lf-lm-text">
              <span className="lf-lm-prompt" title="the prompt">
                {visibleText(p.sample.prompt)}
              </span>
              <span data-testid="lm-sample-text">{visibleText(p.sample.text)}</span>
            </pre>
          </li>
        );
      })}
    </ol>
  );
});

type GenStatus = 'idle' | 'running' | 'done' | 'stopped' | 'failed';

interface Output {
  prompt: string;
  text: string;
  status: GenStatus;
  pieces: number;
  startedAt: number;
  tokens?: number;
  tokensPerSecond?: number;
  error?: string;
}

function NumberField(props: { label: string; value: string; onChange: (v: string) => void; testId: string; error: string | null; title: string }) {
  return (
    <label className="lf-field" title={props.title}>
      <span className="lf-field-label">{props.label}</span>
      <input className="lf-input" inputMode="decimal" value={props.value} onChange={(e) => props.onChange(e.target.value)} data-testid={props.testId} aria-invalid={props.error ? true : undefined} />
      {props.error && <span className="lf-field-error">{props.error}</span>}
    </label>
  );
}

function check(v: string, min: number, max: number, int: boolean): string | null {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) return `${int ? 'a whole number' : 'a number'} from ${min} to ${max.toLocaleString()}`;
  return null;
}

/** The Generate panel: a prompt, temperature, top-k and length; the continuation streams in as it is written. */
export function GeneratePanel({ run, vocabSize }: { run: RunDetail; vocabSize?: number | undefined }) {
  const lastPrompt = samplesNewestFirst(run.epochPoints)[0]?.sample.prompt;
  const [prompt, setPrompt] = useState(() => lastPrompt ?? 'The ');
  const [temperature, setTemperature] = useState('0.8');
  const [topK, setTopK] = useState('0');
  const [tokens, setTokens] = useState('200');
  const [out, setOut] = useState<Output | null>(null);
  const request = useRef<string | null>(null);
  // Pieces arrive faster than a frame on quick backends: they are gathered and drawn once per frame.
  const buffer = useRef({ text: '', pieces: 0, frame: 0 });

  const errors = {
    temperature: check(temperature, 0, 5, false),
    topK: check(topK, 0, Math.max(vocabSize ?? 1_000_000, 1), true),
    tokens: check(tokens, 1, MAX_GENERATE_TOKENS, true),
  };
  const invalid = Object.values(errors).some(Boolean);
  const running = out?.status === 'running';

  const stop = useCallback(() => {
    if (request.current) void training.stopGeneration(request.current).catch(() => {});
  }, []);
  // A generation left running when the panel goes (another run shown, dashboard closed) is stopped.
  useEffect(() => stop, [stop]);

  const go = () => {
    if (invalid || running) return;
    const b = buffer.current;
    cancelAnimationFrame(b.frame);
    b.text = '';
    b.pieces = 0;
    b.frame = 0;
    const flush = () => {
      b.frame = 0;
      setOut((o) => (o && o.status === 'running' ? { ...o, text: b.text, pieces: b.pieces } : o));
    };
    setOut({ prompt, text: '', status: 'running', pieces: 0, startedAt: performance.now() });
    const { requestId, done } = training.generate(
      { runId: run.id, prompt, tokens: Number(tokens), temperature: Number(temperature), topK: Number(topK), seed: Math.floor(Math.random() * 2 ** 31) },
      (piece) => {
        b.text += piece;
        b.pieces++;
        if (!b.frame) b.frame = requestAnimationFrame(flush);
      },
    );
    request.current = requestId;
    done.then(
      (r) => {
        cancelAnimationFrame(b.frame);
        b.frame = 0;
        setOut((o) => (o ? { ...o, text: r.text, pieces: b.pieces, status: r.stopped ? 'stopped' : 'done', tokens: r.tokens, tokensPerSecond: r.tokensPerSecond } : o));
      },
      (e: unknown) => {
        cancelAnimationFrame(b.frame);
        b.frame = 0;
        setOut((o) => (o ? { ...o, text: b.text, status: 'failed', error: message(e) } : o));
      },
    ).finally(() => {
      if (request.current === requestId) request.current = null;
    });
  };

  const elapsed = out ? (performance.now() - out.startedAt) / 1000 : 0;
  return (
    <form
      className="lf-generate"
      data-testid="generate-panel"
      onSubmit={(e) => {
        e.preventDefault();
        go();
      }}
    >
      <label className="lf-field">
        <span className="lf-field-label">Prompt</span>
        <textarea
          className="lf-input lf-generate-prompt"
          rows={3}
          value={prompt}
          spellCheck={false}
          maxLength={10_000}
          onChange={(e) => setPrompt(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              go();
            }
          }}
          placeholder="Text for the model to continue"
          data-testid="generate-prompt"
        />
      </label>
      <div className="lf-generate-settings">
        <NumberField label="Temperature" value={temperature} onChange={setTemperature} testId="generate-temperature" error={errors.temperature} title="0 always picks the most likely token; higher values write more surprising text" />
        <NumberField label="Top-k (0: all)" value={topK} onChange={setTopK} testId="generate-topk" error={errors.topK} title="Draw each token among the k most likely only" />
        <NumberField label="Tokens" value={tokens} onChange={setTokens} testId="generate-tokens" error={errors.tokens} title={`New tokens to write (at most ${MAX_GENERATE_TOKENS.toLocaleString()})`} />
      </div>
      <div className="lf-row-buttons">
        <button type="submit" className="lf-btn lf-btn-primary" disabled={invalid || running} data-testid="generate-button" title="Generate (Ctrl+Enter)">
          {running ? 'Writing…' : 'Generate'}
        </button>
        <button type="button" className="lf-btn" disabled={!running} onClick={stop} data-testid="generate-stop">
          Stop
        </button>
        {out && (
          <span className="lf-muted" data-testid="generate-stats" data-status={out.status}>
            {out.status === 'running'
              ? // A piece is one token's text (a byte-level token may wait for the rest of its character): close enough while writing.
                `writing… ${out.pieces} tokens${elapsed > 0.5 ? ` · ${formatNumber(out.pieces / elapsed)} tokens/s` : ''}`
              : out.tokens !== undefined
                ? `${out.tokens} tokens · ${formatNumber(out.tokensPerSecond ?? 0)} tokens/s${out.status === 'stopped' ? ' · stopped' : ''}`
                : ''}
          </span>
        )}
      </div>
      {out?.error && (
        <div className="lf-train-error" role="alert" data-testid="generate-error">
          {out.error}
        </div>
      )}
      {out && (
        <pre className="lf-lm-text lf-generate-output" data-testid="generate-output" data-status={out.status} data-pieces={out.pieces} aria-live="polite">
          <span className="lf-lm-prompt">{visibleText(out.prompt)}</span>
          <span data-testid="generate-text">{visibleText(out.text)}</span>
          {out.status === 'running' && <span className="lf-caret" aria-hidden="true" />}
        </pre>
      )}
    </form>
  );
}

/** The 'samples' view: what the model wrote after each epoch, and (once it has a model) Generate. */
export function WritingView({ run, vocabSize, live }: { run: RunDetail; vocabSize?: number | undefined; live: boolean }) {
  return (
    <div className="lf-writing">
      <div className="lf-writing-col">
        <h4>After each epoch, from a fixed prompt</h4>
        <EpochSamples points={run.epochPoints} live={live} />
      </div>
      <div className="lf-writing-col">
        <h4>Generate from your prompt</h4>
        {run.hasModel ? (
          <GeneratePanel key={run.id} run={run} vocabSize={vocabSize} />
        ) : (
          <div className="lf-muted" data-testid="generate-unavailable">
            {live ? 'Continue a prompt of your own once the run ends (Stop keeps the weights).' : 'This run has no trained model.'}
          </div>
        )}
      </div>
    </div>
  );
}

/**
 * The 'perplexity' view: the model's perplexity (validation after the first and the last epoch, test) beside
 * guessing uniformly among the vocabulary, on a log scale; a perplexity of p reads "as unsure as choosing
 * among p equally likely tokens".
 */
export function PerplexityView({ run, evaluation, vocabSize }: { run: RunDetail; evaluation: Evaluation; vocabSize?: number | undefined }) {
  const val = run.epochPoints.filter((p) => p.valMetrics?.perplexity !== undefined);
  const first = val[0];
  const last = val.at(-1);
  const test = evaluation.metrics?.perplexity;
  const rows: { kind: string; label: string; value: number }[] = [];
  if (vocabSize) rows.push({ kind: 'uniform', label: `guessing among all ${vocabSize.toLocaleString()} tokens`, value: vocabSize });
  if (first) rows.push({ kind: 'first', label: `validation, epoch ${first.epoch}`, value: first.valMetrics!.perplexity! });
  if (last && last !== first) rows.push({ kind: 'last', label: `validation, epoch ${last.epoch}`, value: last.valMetrics!.perplexity! });
  if (test !== undefined) rows.push({ kind: 'test', label: 'test', value: test });
  const max = Math.max(2, ...rows.map((r) => r.value));
  const width = (v: number) => `${Math.max(1, (Math.log(Math.max(v, 1)) / Math.log(max)) * 100).toFixed(1)}%`;
  return (
    <div className="lf-perplexity" data-testid="perplexity-view">
      {rows.map((r) => (
        <div key={r.kind} className={`lf-perplexity-row ${r.kind}`} data-testid="perplexity-row" data-kind={r.kind} data-value={r.value}>
          <span className="lf-perplexity-label">{r.label}</span>
          <span className="lf-perclass-bar">
            <span style={{ width: width(r.value) }} />
          </span>
          <span className="lf-perplexity-val">{formatNumber(r.value)}</span>
        </div>
      ))}
      {test !== undefined && (
        <div className="lf-muted lf-perplexity-note">
          On the test text the model is as unsure of the next token as a choice among {formatNumber(test)} equally likely tokens{vocabSize ? ` (a blind guess: ${vocabSize.toLocaleString()})` : ''}. Bars are on a log scale.
        </div>
      )}
    </div>
  );
}
