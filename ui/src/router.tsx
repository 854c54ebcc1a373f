/**
 * Client-side routes under the agent's UI content path (`/ui/` unless `ui_config.content_path`
 * says otherwise; the agent writes it into index.html's `augur-content-path` meta).
 */
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";

export const BASE =
  document.querySelector<HTMLMetaElement>('meta[name="augur-content-path"]')?.content ?? "/ui/";

const listeners = new Set<() => void>();

/** The path inside the UI, without the base: `services/web`. */
export function currentPath(): string {
  const p = location.pathname;
  if (!p.startsWith(BASE)) return "";
  // Segment by segment: a KV key or service name may hold `?`, `#` or `%`, encoded in the URL.
  return p
    .slice(BASE.length)
    .split("/")
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join("/");
}

export function navigate(to: string): void {
  history.pushState(null, "", BASE + to);
  for (const l of listeners) l();
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => {
  for (const l of listeners) l();
});

export function useRoute(): string {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const l = (): void => setPath(currentPath());
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return path;
}

export function Link(
  props: { to: string; children: ComponentChildren } & Omit<
    JSX.HTMLAttributes<HTMLAnchorElement>,
    "href"
  >,
): JSX.Element {
  const { to, children, ...rest } = props;
  return (
    <a
      {...rest}
      href={BASE + to}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
