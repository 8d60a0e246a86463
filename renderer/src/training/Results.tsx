import type { Evaluation, Predictions } from '../../../shared/api';
import { pct } from './chartData';

/** Confusion matrix heat map: rows are true classes, columns predictions; colour by row share. */
export function ConfusionMatrix({ evaluation }: { evaluation: Evaluation }) {
  const { classNames, confusion } = evaluation;
  return (
    <div className="lf-confusion-wrap">
      <table className="lf-confusion" data-testid="confusion-matrix">
        <thead>
          <tr>
            <th className="lf-confusion-corner">true \ predicted</th>
            {classNames.map((c) => (
              <th key={c} className="lf-confusion-col" title={c}>
                <span>{c}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {confusion.map((row, i) => {
            const total = row.reduce((a, b) => a + b, 0) || 1;
            return (
              <tr key={i}>
                <th className="lf-confusion-row">{classNames[i]}</th>
                {row.map((n, j) => {
                  const share = n / total;
                  const bg = i === j ? `rgba(18, 128, 92, ${0.12 + share * 0.88})` : `rgba(217, 45, 32, ${n ? 0.1 + share * 0.9 : 0})`;
                  return (
                    <td key={j} style={{ background: bg, color: share > 0.55 ? '#fff' : undefined }} title={`true ${classNames[i]}, predicted ${classNames[j]}: ${n} (${pct(share)})`}>
                      {n || ''}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function PerClass({ evaluation }: { evaluation: Evaluation }) {
  return (
    <div className="lf-perclass" data-testid="per-class">
      {evaluation.perClass.map((c) => (
        <div key={c.className} className="lf-perclass-row" title={`${c.count} test images`}>
          <span className="lf-perclass-name">{c.className}</span>
          <span className="lf-perclass-bar">
            <span style={{ width: `${(c.accuracy * 100).toFixed(1)}%` }} />
          </span>
          <span className="lf-perclass-val">{pct(c.accuracy)}</span>
        </div>
      ))}
    </div>
  );
}

export function Gallery({ predictions }: { predictions: Predictions }) {
  const wrong = predictions.items.filter((i) => i.label !== i.predicted).length;
  return (
    <div>
      <div className="lf-muted" style={{ marginBottom: 6 }}>
        {wrong} of {predictions.items.length} shown are misclassified (shown first).
      </div>
      <div className="lf-gallery" data-testid="predictions">
        {predictions.items.map((p) => {
          const ok = p.label === p.predicted;
          return (
            <figure key={p.index} className={`lf-pred ${ok ? 'ok' : 'bad'}`} data-testid="prediction-item" data-correct={ok}>
              <img src={p.image} alt={`test image ${p.index}`} width={64} height={64} />
              <figcaption>
                <span className="lf-pred-p">{predictions.classNames[p.predicted]}</span>
                <span className="lf-pred-c">{pct(p.confidence)}</span>
                {!ok && <span className="lf-pred-t">true: {predictions.classNames[p.label]}</span>}
              </figcaption>
            </figure>
          );
        })}
      </div>
    </div>
  );
}
