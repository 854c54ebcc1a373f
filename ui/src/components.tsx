import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { useConnection } from "./api";

export type Status = "passing" | "warning" | "critical" | "maintenance" | string;

const RANK: Record<string, number> = { passing: 0, warning: 1, critical: 2, maintenance: 3 };

/** The worst of several check statuses (a service instance's health, as Consul's UI shows it). */
export function worst(statuses: readonly string[]): Status {
  let w = "passing";
  for (const s of statuses) if ((RANK[s] ?? 0) > (RANK[w] ?? 0)) w = s;
  return w;
}

export function Badge(props: { status: Status; children?: ComponentChildren }): JSX.Element {
  // An empty badge is a coloured dot: it says its status to a screen reader.
  const dot = props.children === "";
  return (
    <span
      class={`badge badge-${props.status}`}
      data-status={props.status}
      {...(dot ? { role: "img", "aria-label": props.status } : {})}
    >
      {dot ? null : (props.children ?? props.status)}
    </span>
  );
}

/** Passing / warning / critical counts, each a fixed-width badge so counts changing never reflow. */
export function HealthSummary(props: {
  passing: number;
  warning: number;
  critical: number;
}): JSX.Element {
  return (
    <span
      class="summary"
      aria-label={`${props.passing} passing, ${props.warning} warning, ${props.critical} critical`}
    >
      <span class="count count-passing" title="passing">
        ✓ {props.passing}
      </span>
      <span class="count count-warning" title="warning">
        ! {props.warning}
      </span>
      <span class="count count-critical" title="critical">
        ✕ {props.critical}
      </span>
    </span>
  );
}

/** The banner shown while the agent does not answer; fixed, so it never shifts the page. */
export function ConnectionBanner(): JSX.Element | null {
  const c = useConnection();
  const [, tick] = useState(0);
  useEffect(() => {
    if (c.reachable) return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [c.reachable]);
  if (c.reachable) return null;
  const secs = Math.max(0, Math.ceil((c.retryAt - Date.now()) / 1000));
  return (
    <div class="banner" role="alert" data-testid="unreachable">
      The agent is unreachable. Showing the last known state; retrying in {secs}s.
    </div>
  );
}

/**
 * A list that renders only the rows in view (plus a few), so 10,000 rows cost what 30 do. Rows
 * have one fixed height; Arrow keys, Home and End move focus between rows, scrolling as needed.
 */
export function VirtualList<T>(props: {
  items: readonly T[];
  rowHeight: number;
  label: string;
  row: (item: T, index: number) => JSX.Element;
  header?: JSX.Element;
}): JSX.Element {
  const { items, rowHeight } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [range, setRange] = useState({ top: 0, height: 800 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const update = (): void => setRange({ top: el.scrollTop, height: el.clientHeight || 800 });
    update();
    el.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    return () => {
      el.removeEventListener("scroll", update);
      window.removeEventListener("resize", update);
    };
  }, []);
  const overscan = 8;
  const first = Math.max(0, Math.floor(range.top / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((range.top + range.height) / rowHeight) + overscan);
  const onKeyDown = (e: KeyboardEvent): void => {
    const el = ref.current;
    const target = e.target as HTMLElement;
    const rowEl = target.closest<HTMLElement>("[data-row]");
    if (!el || !rowEl) return;
    const at = Number(rowEl.dataset["row"]);
    const to =
      e.key === "ArrowDown"
        ? at + 1
        : e.key === "ArrowUp"
          ? at - 1
          : e.key === "Home"
            ? 0
            : e.key === "End"
              ? items.length - 1
              : -2;
    if (to === -2) return;
    e.preventDefault();
    const clamped = Math.max(0, Math.min(items.length - 1, to));
    const y = clamped * rowHeight;
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + rowHeight > el.scrollTop + el.clientHeight)
      el.scrollTop = y + rowHeight - el.clientHeight;
    const focusRow = (): boolean => {
      const target = el.querySelector<HTMLElement>(
        `[data-row="${clamped}"] a, [data-row="${clamped}"] button`,
      );
      target?.focus();
      return target !== null;
    };
    // A row out of view is only rendered after the scroll's re-render.
    if (!focusRow()) requestAnimationFrame(() => void focusRow());
  };
  return (
    <div class="vlist-wrap">
      {props.header}
      <div ref={ref} class="vlist" role="list" aria-label={props.label} onKeyDown={onKeyDown}>
        <div style={{ height: `${items.length * rowHeight}px`, position: "relative" }}>
          {items.slice(first, last).map((item, i) => (
            <div
              key={first + i}
              role="listitem"
              // Only the rows in view exist: each says where it is in the whole list.
              aria-setsize={items.length}
              aria-posinset={first + i + 1}
              data-row={first + i}
              class="vrow"
              style={{ top: `${(first + i) * rowHeight}px`, height: `${rowHeight}px` }}
            >
              {props.row(item, first + i)}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}

export function ErrorText(props: { text: string }): JSX.Element | null {
  return props.text ? (
    <p class="error" role="alert">
      {props.text}
    </p>
  ) : null;
}

export function Loading(props: { loading: boolean }): JSX.Element | null {
  return props.loading ? <p class="muted">Loading…</p> : null;
}

export const ago = (iso: string | null): string => {
  if (!iso) return "";
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 60
    ? `${s}s ago`
    : s < 3600
      ? `${Math.round(s / 60)}m ago`
      : `${Math.round(s / 3600)}h ago`;
};
