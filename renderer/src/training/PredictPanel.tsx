/**
 * Predict with a finished table run: type a row (one field per column the model uses, prefilled from a
 * test row) or name a CSV file on the engine's machine. The engine applies the dataset's preprocessing
 * (predictRows); a row it cannot use says why, beside the others.
 */
import { useMemo, useState } from 'react';
import type { DatasetInfo, Evaluation, RowPredictions, RunDetail } from '../../../shared/api';
import { formatNumber, pct } from './chartData';
import { formColumns, rowValues, type FormColumn } from './resultsData';
import { training } from './runsStore';
import { validatePath } from './tableImport';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const CSV_ROWS = 50;

/** The form's columns: from the test rows' header and the dataset's encoded features, else the header alone. */
function useColumns(evaluation: Evaluation | undefined, dataset: DatasetInfo | undefined, target: string) {
  return useMemo(() => {
    const header = evaluation?.rows?.header ?? [];
    if (dataset?.featureNames && header.length) return formColumns(header, target, dataset.featureNames);
    return { fields: header.filter((h) => h !== target).map((name): FormColumn => ({ name, kind: 'numeric', options: [] })), ignored: [] };
  }, [evaluation, dataset, target]);
}

function Prediction({ result }: { result: RowPredictions }) {
  const item = result.items[0];
  if (!item) return null;
  if (item.error) {
    return (
      <div className="lf-train-error" role="alert" data-testid="predict-row-error">
        {item.error}
      </div>
    );
  }
  const top = (item.probabilities ?? [])
    .map((p, i) => ({ p, name: result.classNames[i] ?? String(i) }))
    .sort((a, b) => b.p - a.p)
    .slice(0, 3);
  return (
    <div className="lf-predict-result" data-testid="predict-result">
      <div>
        {result.target}: <b data-testid="predict-value">{typeof item.predicted === 'number' ? formatNumber(item.predicted) : item.predicted}</b>
        {item.confidence !== undefined && (
          <span className="lf-muted" data-testid="predict-confidence">
            {' '}
            ({pct(item.confidence)} sure)
          </span>
        )}
      </div>
      {top.length > 1 && (
        <div className="lf-perclass">
          {top.map((t) => (
            <div key={t.name} className="lf-perclass-row">
              <span className="lf-perclass-name">{t.name}</span>
              <span className="lf-perclass-bar">
                <span style={{ width: `${(t.p * 100).toFixed(1)}%` }} />
              </span>
              <span className="lf-perclass-val">{pct(t.p)}</span>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

function RowForm({ run, fields, ignored, testRows }: { run: RunDetail; fields: FormColumn[]; ignored: string[]; testRows: { header: string[]; values: string[][] } }) {
  const [pick, setPick] = useState(0);
  const [values, setValues] = useState<Record<string, string>>(() => (testRows.values[0] ? rowValues(testRows.header, testRows.values[0], fields) : {}));
  const [result, setResult] = useState<RowPredictions | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const predict = async () => {
    setBusy(true);
    setFailure(null);
    try {
      setResult(await training.predictRows({ runId: run.id, rows: [Object.fromEntries(fields.map((f) => [f.name, values[f.name] ?? '']))] }));
    } catch (e) {
      setResult(null);
      setFailure(message(e));
    } finally {
      setBusy(false);
    }
  };
  const nextTestRow = () => {
    const k = (pick + 1) % testRows.values.length;
    setPick(k);
    setValues(rowValues(testRows.header, testRows.values[k]!, fields));
    setResult(null);
  };
  return (
    <form
      className="lf-predict-form"
      data-testid="predict-form"
      onSubmit={(e) => {
        e.preventDefault();
        void predict();
      }}
    >
      <div className="lf-predict-fields">
        {fields.map((f) => (
          <label key={f.name} className="lf-field">
            <span className="lf-field-label" title={f.name}>
              {f.name}
            </span>
            {f.kind === 'categorical' ? (
              <select className="lf-input" value={values[f.name] ?? ''} data-testid={`predict-field-${f.name}`} onChange={(e) => setValues((v) => ({ ...v, [f.name]: e.target.value }))}>
                <option value="">(missing)</option>
                {f.options.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : (
              <input className="lf-input" inputMode="decimal" value={values[f.name] ?? ''} data-testid={`predict-field-${f.name}`} onChange={(e) => setValues((v) => ({ ...v, [f.name]: e.target.value }))} />
            )}
          </label>
        ))}
      </div>
      {ignored.length > 0 && <div className="lf-muted">Not used by the model: {ignored.join(', ')}.</div>}
      <div className="lf-row-buttons">
        <button type="submit" className="lf-btn lf-btn-primary" disabled={busy} data-testid="predict-button">
          {busy ? 'Predicting…' : 'Predict'}
        </button>
        {testRows.values.length > 1 && (
          <button type="button" className="lf-btn lf-btn-ghost" onClick={nextTestRow} data-testid="predict-next-row" title="Fill the form with another row of the test split">
            Another test row
          </button>
        )}
      </div>
      {failure && (
        <div className="lf-train-error" role="alert" data-testid="predict-error">
          {failure}
        </div>
      )}
      {result && <Prediction result={result} />}
    </form>
  );
}

function CsvPredict({ run }: { run: RunDetail }) {
  const [path, setPath] = useState('');
  const [result, setResult] = useState<RowPredictions | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    const bad = validatePath(path);
    if (bad) {
      setFailure(bad);
      return;
    }
    setBusy(true);
    setFailure(null);
    try {
      setResult(await training.predictRows({ runId: run.id, csvPath: path.trim(), maxRows: CSV_ROWS }));
    } catch (e) {
      setResult(null);
      setFailure(message(e));
    } finally {
      setBusy(false);
    }
  };
  const withConfidence = result?.items.some((i) => i.confidence !== undefined);
  const failed = result?.items.filter((i) => i.error).length ?? 0;
  return (
    <form
      className="lf-predict-csv"
      onSubmit={(e) => {
        e.preventDefault();
        void go();
      }}
    >
      <label className="lf-field">
        <span className="lf-field-label">Predict a CSV file on the engine’s machine (same columns, the target column may be absent)</span>
        <div className="lf-table-path">
          <input className="lf-input" value={path} placeholder="/home/me/data/new-rows.csv" spellCheck={false} onChange={(e) => setPath(e.target.value)} data-testid="predict-csv-path" />
          <button type="submit" className="lf-btn" disabled={busy} data-testid="predict-csv-button">
            {busy ? 'Predicting…' : 'Predict file'}
          </button>
        </div>
      </label>
      {failure && (
        <div className="lf-train-error" role="alert" data-testid="predict-csv-error">
          {failure}
        </div>
      )}
      {result && (
        <>
          <div className="lf-muted" data-testid="predict-csv-summary">
            {result.items.length < result.total ? `First ${result.items.length} of ${result.total} rows` : `${result.total} rows`}
            {failed ? ` · ${failed} could not be predicted (see the last column)` : ''}
          </div>
          <div className="lf-table-scroll" data-testid="predict-csv-rows">
            <table className="lf-table">
              <thead>
                <tr>
                  {result.header.map((h) => (
                    <th key={h}>{h}</th>
                  ))}
                  <th className="lf-result-col">predicted {result.target}</th>
                  {withConfidence && <th className="lf-result-col num">confidence</th>}
                </tr>
              </thead>
              <tbody>
                {result.items.map((item, i) => (
                  <tr key={i} className={item.error ? 'failed' : undefined} data-testid="predict-csv-row">
                    {result.header.map((h, j) => (
                      <td key={h}>{item.values[j]}</td>
                    ))}
                    {item.error ? (
                      <td className="lf-result-col bad" colSpan={withConfidence ? 2 : 1} title={item.error}>
                        {item.error}
                      </td>
                    ) : (
                      <>
                        <td className="lf-result-col">{typeof item.predicted === 'number' ? formatNumber(item.predicted) : item.predicted}</td>
                        {withConfidence && <td className="lf-result-col num">{pct(item.confidence)}</td>}
                      </>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </form>
  );
}

/** The Predict panel of a table run with a trained model. */
export function PredictPanel({ run, dataset }: { run: RunDetail; dataset: DatasetInfo | undefined }) {
  const evaluation = run.evaluation;
  const target = evaluation?.rows?.target ?? run.target ?? dataset?.target ?? '';
  const { fields, ignored } = useColumns(evaluation, dataset, target);
  const testRows = useMemo(() => ({ header: evaluation?.rows?.header ?? [], values: (evaluation?.rows?.items ?? []).map((r) => r.values) }), [evaluation]);
  return (
    <section className="lf-predict" data-testid="predict-panel">
      <h4>Predict new rows</h4>
      {fields.length > 0 ? (
        <RowForm key={run.id} run={run} fields={fields} ignored={ignored} testRows={testRows} />
      ) : (
        <div className="lf-muted">The columns of this run’s dataset are not known here: predict a CSV file instead.</div>
      )}
      <CsvPredict key={`csv-${run.id}`} run={run} />
    </section>
  );
}
