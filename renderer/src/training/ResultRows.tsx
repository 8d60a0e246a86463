import { useMemo } from 'react';
import type { TableResultRow, TableResultRows } from '../../../shared/api';
import { formatNumber, pct } from './chartData';
import { featureColumns } from './resultsData';

/** The extra columns a row table shows after the feature values. */
export type RowFigure = 'error' | 'confidence';

const cell = (v: string | number) => (typeof v === 'number' ? formatNumber(v) : v);

/** Test rows with their feature values as in the file, the true and predicted target, and the error or confidence. */
export function ResultRowsTable({ rows, figure, testId }: { rows: TableResultRows; figure: RowFigure; testId: string }) {
  const cols = useMemo(() => featureColumns(rows.header, rows.target), [rows.header, rows.target]);
  if (rows.items.length === 0) {
    return <div className="lf-muted">{figure === 'confidence' ? 'No test row is misclassified.' : 'No test rows.'}</div>;
  }
  return (
    <div className="lf-table-scroll lf-result-rows" data-testid={testId} data-rows={rows.items.length}>
      <table className="lf-table">
        <thead>
          <tr>
            <th className="num">#</th>
            {cols.map((i) => (
              <th key={i}>{rows.header[i]}</th>
            ))}
            <th className="lf-result-col">true {rows.target}</th>
            <th className="lf-result-col">predicted</th>
            <th className="lf-result-col num">{figure}</th>
          </tr>
        </thead>
        <tbody>
          {rows.items.map((r) => (
            <ResultRow key={r.index} row={r} cols={cols} figure={figure} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ResultRow({ row, cols, figure }: { row: TableResultRow; cols: number[]; figure: RowFigure }) {
  return (
    <tr data-testid="result-row">
      <td className="num lf-muted" title="row of the test split">
        {row.index + 1}
      </td>
      {cols.map((i) => (
        <td key={i} title={row.values[i]}>
          {row.values[i]}
        </td>
      ))}
      <td className="lf-result-col">{cell(row.truth)}</td>
      <td className={`lf-result-col${figure === 'confidence' ? ' bad' : ''}`}>{cell(row.predicted)}</td>
      <td className="lf-result-col num">{figure === 'error' ? signed(row.error) : pct(row.confidence)}</td>
    </tr>
  );
}

const signed = (v: number | undefined) => (v === undefined ? '–' : `${v > 0 ? '+' : ''}${formatNumber(v)}`);
