import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ConnectionBanner } from "./components";
import { Link, useRoute } from "./router";
import { Members, Sessions } from "./pages/cluster";
import { Kv } from "./pages/kv";
import { NodeDetail, Nodes } from "./pages/nodes";
import { Service, Services } from "./pages/services";
import { Timeline, Watches } from "./pages/watches";
import { AclToken } from "./pages/acl-token";

const NAV: [string, string][] = [
  ["services", "Services"],
  ["nodes", "Nodes"],
  ["kv/", "Key / Value"],
  ["sessions", "Sessions"],
  ["members", "Members"],
  ["watches", "Watches"],
  ["acl-token", "ACL token"],
];

function page(path: string): JSX.Element {
  const [head = "", ...rest] = path.split("/");
  const arg = rest.join("/");
  switch (head) {
    case "":
    case "services":
      return arg ? <Service name={arg} key={arg} /> : <Services />;
    case "nodes":
      return arg ? <NodeDetail name={arg} key={arg} /> : <Nodes />;
    case "kv":
      return <Kv path={arg} key={arg} />;
    case "sessions":
      return <Sessions />;
    case "members":
      return <Members />;
    case "acl-token":
      return <AclToken />;
    case "watches":
      return rest[1] === "timeline" ? (
        <Timeline watch={rest[0] ?? "-"} key={rest[0]} />
      ) : (
        <Watches />
      );
    default:
      return <p>No such page.</p>;
  }
}

export function App(): JSX.Element {
  const path = useRoute();
  const section = path.split("/")[0] || "services";
  const main = useRef<HTMLElement>(null);
  const firstPage = useRef(true);
  // Moving to another page puts focus on its content, as a full page load would for a screen
  // reader. Not on the first page: a loaded page starts at the top, where Tab reaches "Skip to
  // content" and the navigation first.
  useEffect(() => {
    if (firstPage.current) firstPage.current = false;
    else main.current?.focus({ preventScroll: true });
  }, [path]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">augur</span>
        <span class="muted">Consul-compatible agent</span>
      </header>
      <div class="layout">
        <nav class="side" aria-label="Main">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <Link to={to} aria-current={section === to.replace("/", "") ? "page" : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" ref={main} tabIndex={-1}>
          {page(path)}
        </main>
      </div>
      <ConnectionBanner />
    </>
  );
}
