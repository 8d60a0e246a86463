/** A labelled progress bar (epoch, overall, dataset download). */
export function Bar({ value, label, testId }: { value: number; label: string; testId: string }) {
  const v = Math.max(0, Math.min(1, Number.isFinite(value) ? value : 0));
  return (
    <div className="lf-progress-row">
      <span className="lf-progress-label">{label}</span>
      <div className="lf-progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(v * 1000) / 10} aria-label={label} data-testid={testId}>
        <div style={{ transform: `scaleX(${v})` }} />
      </div>
      <span className="lf-progress-val">{Math.floor(v * 100)}%</span>
    </div>
  );
}
