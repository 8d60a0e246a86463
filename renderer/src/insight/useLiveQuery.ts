/**
 * One engine question answered into a view, asked again every few seconds while the run trains (Poller: one
 * request in flight, only while the view is visible), and at once when the question changes. Answers to an
 * older question are dropped.
 */
import { useEffect, useRef, useState, type RefObject } from 'react';
import { useTraining } from '../training/runsStore';
import { useUi } from '../store/uiStore';
import { Poller } from './poller';

export const LIVE_REFRESH_MS = 3000;

export interface LiveQuery<T> {
  data: T | null;
  /** The key the data answers (a view may show the old answer while the new one is on its way). */
  dataKey: string | null;
  error: string | null;
  loading: boolean;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** True when the element is laid out (its panel not hidden) and the page is visible. */
export function shown(el: HTMLElement | null): boolean {
  if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return false;
  return !!el && el.getClientRects().length > 0;
}

/**
 * `key` names the question (null: nothing to ask); `ask` answers it; `live` keeps asking. `where` is the view's
 * element: while it is hidden (another tab, the dashboard over it) nothing is asked.
 */
export function useLiveQuery<T>(key: string | null, ask: () => Promise<T>, live: boolean, where: RefObject<HTMLElement | null>, opts: { coveredByDashboard?: boolean } = {}): LiveQuery<T> {
  const [state, setState] = useState<LiveQuery<T>>({ data: null, dataKey: null, error: null, loading: false });
  const current = useRef({ key, ask, live });
  current.current = { key, ask, live };
  const dashboardOpen = useTraining((s) => s.dashboardOpen);
  const tab = useUi((s) => s.rightTab);
  const covered = opts.coveredByDashboard !== false && dashboardOpen;
  const coveredRef = useRef(covered);
  coveredRef.current = covered;
  const poller = useRef<Poller | null>(null);

  useEffect(() => {
    const p = new Poller({
      intervalMs: LIVE_REFRESH_MS,
      live: () => current.current.live && current.current.key !== null,
      visible: () => !coveredRef.current && shown(where.current),
      run: async () => {
        const { key: k, ask: a } = current.current;
        if (k === null) return;
        setState((s) => ({ ...s, loading: true }));
        try {
          const data = await a();
          if (current.current.key === k) setState({ data, dataKey: k, error: null, loading: false });
        } catch (e) {
          if (current.current.key === k) setState((s) => ({ data: s.dataKey === k ? s.data : null, dataKey: s.dataKey === k ? k : null, error: message(e), loading: false }));
        }
      },
    });
    poller.current = p;
    const onVisibility = () => p.wake();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      p.stop();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [where]);

  // A new question: asked at once (or right after the one in flight).
  useEffect(() => {
    if (key === null) {
      setState({ data: null, dataKey: null, error: null, loading: false });
      return;
    }
    poller.current?.request();
  }, [key]);

  // Became live, or visible again (tab, dashboard closed): resume polling.
  useEffect(() => {
    poller.current?.wake();
  }, [live, covered, tab]);

  return state;
}
