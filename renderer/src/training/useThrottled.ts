import { useEffect, useRef, useState } from 'react';

/**
 * Returns `value`, but while `live` is true it changes at most once per `ms` (the latest value is shown
 * at the end of each interval). Charts of a running run redraw about once a second instead of on every
 * progress event, which leaves the CPU to training; once the run is no longer live the value passes
 * through at once.
 */
export function useThrottled<T>(value: T, ms: number, live: boolean): T {
  const [shown, setShown] = useState(value);
  const last = useRef(0);
  const latest = useRef(value);
  latest.current = value;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    if (!live) {
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
      return;
    }
    if (shown === value || timer.current) return;
    const wait = Math.max(0, last.current + ms - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      setShown(latest.current);
    }, wait);
  }, [value, live, ms, shown]);

  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);

  return live ? shown : value;
}
