import { useCallback, useEffect, useLayoutEffect, useState } from 'react';

interface WindowedRowsOptions {
  count: number;
  /** Every row has this height in px (fixed-height rows keep the maths exact). */
  rowHeight: number;
  /** The scrolling element (from a callback ref: it may mount after the hook, e.g. after loading). */
  viewport: HTMLElement | null;
  /** Rows rendered above and below the visible ones. */
  overscan?: number;
  /** Viewport height assumed before it is measured. */
  initialHeight?: number;
}

export interface WindowedRows {
  /** First rendered row (inclusive). */
  start: number;
  /** Last rendered row (exclusive). */
  end: number;
  /** Height of all rows together. */
  totalHeight: number;
  /** Rows that fit in the viewport. */
  pageSize: number;
  /** Scrolls the least needed to show row `index` entirely. */
  scrollToIndex: (index: number) => void;
}

/**
 * Windowed rendering for a scrolling list of fixed-height rows: only the rows in (and near) the
 * viewport are rendered, so a folder of thousands of patients costs as much as one of thirty.
 * Re-renders only when the first visible row or the viewport height changes.
 */
export function useWindowedRows({ count, rowHeight, viewport, overscan = 8, initialHeight = 480 }: WindowedRowsOptions): WindowedRows {
  const [first, setFirst] = useState(0);
  const [height, setHeight] = useState(initialHeight);

  useLayoutEffect(() => {
    const el = viewport;
    if (!el) return;
    const onScroll = () => setFirst(Math.floor(el.scrollTop / rowHeight));
    const measure = () => setHeight(el.clientHeight || initialHeight);
    onScroll();
    measure();
    el.addEventListener('scroll', onScroll, { passive: true });
    const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(measure);
    observer?.observe(el);
    return () => {
      el.removeEventListener('scroll', onScroll);
      observer?.disconnect();
    };
  }, [viewport, rowHeight, initialHeight]);

  // A shorter list (new filter) may leave the scroll position past its end.
  useEffect(() => {
    if (viewport) setFirst(Math.floor(viewport.scrollTop / rowHeight));
  }, [count, rowHeight, viewport]);

  const visible = Math.ceil(height / rowHeight);
  const start = Math.max(0, Math.min(first, count) - overscan);
  const end = Math.min(count, first + visible + overscan);

  const scrollToIndex = useCallback(
    (index: number) => {
      const el = viewport;
      if (!el) return;
      const top = index * rowHeight;
      const bottom = top + rowHeight;
      if (top < el.scrollTop) el.scrollTop = top;
      else if (bottom > el.scrollTop + el.clientHeight) el.scrollTop = bottom - el.clientHeight;
    },
    [viewport, rowHeight],
  );

  return { start, end, totalHeight: count * rowHeight, pageSize: Math.max(1, visible - 1), scrollToIndex };
}
