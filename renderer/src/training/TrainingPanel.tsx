/** Placeholder: the training dashboard (issue 6) replaces this component. */
export function TrainingPanel() {
  return <div className="training-panel-placeholder">Training is not available in this build yet.</div>;
}
