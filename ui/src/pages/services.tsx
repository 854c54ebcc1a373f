import type { JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import { enc, useBlocking } from "../api";
import { Badge, ErrorText, HealthSummary, Loading, VirtualList, worst } from "../components";
import { Link } from "../router";
import type { HealthCheck, ServiceEntry } from "../types";

interface Row {
  name: string;
  tags: string[];
  passing: number;
  warning: number;
  critical: number;
  nodes: number;
}

/** The services list: names and tags (catalog/services) with their checks' summary (health/state/any). */
export function Services(): JSX.Element {
  const services = useBlocking<Record<string, string[]>>("/v1/catalog/services");
  const checks = useBlocking<HealthCheck[]>("/v1/health/state/any");
  const [query, setQuery] = useState("");
  const rows = useMemo(() => {
    const byService = new Map<string, { p: number; w: number; c: number; nodes: Set<string> }>();
    for (const c of checks.data ?? []) {
      if (!c.ServiceName) continue;
      let s = byService.get(c.ServiceName);
      if (!s) byService.set(c.ServiceName, (s = { p: 0, w: 0, c: 0, nodes: new Set() }));
      if (c.Status === "passing") s.p++;
      else if (c.Status === "warning") s.w++;
      else s.c++;
      s.nodes.add(c.Node);
    }
    const out: Row[] = [];
    for (const [name, tags] of Object.entries(services.data ?? {})) {
      const s = byService.get(name);
      out.push({
        name,
        tags,
        passing: s?.p ?? 0,
        warning: s?.w ?? 0,
        critical: s?.c ?? 0,
        nodes: s?.nodes.size ?? 0,
      });
    }
    return out;
  }, [services.data, checks.data]);
  const q = query.trim().toLowerCase();
  const shown = q
    ? rows.filter(
        (r) => r.name.toLowerCase().includes(q) || r.tags.some((t) => t.toLowerCase().includes(q)),
      )
    : rows;
  return (
    <section aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">
          Services <span class="muted">{services.data ? rows.length : ""}</span>
        </h1>
        <label class="search">
          <span>Search services</span>
          <input
            type="search"
            value={query}
            onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          />
        </label>
      </header>
      <ErrorText text={services.error || checks.error} />
      <Loading loading={services.loading && !services.data} />
      <VirtualList
        items={shown}
        rowHeight={48}
        label="Services"
        header={
          <div class="vhead" aria-hidden="true">
            <span>Service</span>
            <span>Health checks</span>
            <span>Tags</span>
          </div>
        }
        row={(r) => (
          <div class="svc-row" data-service={r.name}>
            <Link to={`services/${enc(r.name)}`} class="name">
              <Badge status={r.critical ? "critical" : r.warning ? "warning" : "passing"}>
                {""}
              </Badge>{" "}
              {r.name}
            </Link>
            <HealthSummary passing={r.passing} warning={r.warning} critical={r.critical} />
            <span class="tags">
              {r.tags.slice(0, 6).map((t) => (
                <span class="tag" key={t}>
                  {t}
                </span>
              ))}
            </span>
          </div>
        )}
      />
    </section>
  );
}

/** One service: its instances, each with its node, address, tags and checks with their output. */
export function Service(props: { name: string }): JSX.Element {
  const entries = useBlocking<ServiceEntry[]>(`/v1/health/service/${enc(props.name)}`);
  const list = entries.data ?? [];
  return (
    <section aria-labelledby="page-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link to="services">Services</Link> /
      </nav>
      <h1 id="page-title">{props.name}</h1>
      <ErrorText text={entries.error} />
      <Loading loading={entries.loading && !entries.data} />
      {entries.data && list.length === 0 ? (
        <p>No instances of this service are registered.</p>
      ) : null}
      <h2>Instances ({list.length})</h2>
      <ul class="cards">
        {list.map((e) => {
          const status = worst(e.Checks.map((c) => c.Status));
          return (
            <li class="card" key={`${e.Node.Node}/${e.Service.ID}`} data-instance={e.Service.ID}>
              <h3>
                <Badge status={status} /> {e.Service.ID}{" "}
                <span class="muted">
                  on <Link to={`nodes/${enc(e.Node.Node)}`}>{e.Node.Node}</Link> ·{" "}
                  {e.Service.Address || e.Node.Address}
                  {e.Service.Port ? `:${e.Service.Port}` : ""}
                </span>
              </h3>
              {e.Service.Tags?.length ? (
                <p class="tags">
                  {e.Service.Tags.map((t) => (
                    <span class="tag" key={t}>
                      {t}
                    </span>
                  ))}
                </p>
              ) : null}
              <Checks checks={e.Checks} />
            </li>
          );
        })}
      </ul>
    </section>
  );
}

export function Checks(props: { checks: HealthCheck[] }): JSX.Element {
  return (
    <table class="checks">
      <caption class="sr-only">Health checks</caption>
      <thead>
        <tr>
          <th scope="col">Check</th>
          <th scope="col">Status</th>
          <th scope="col">Type</th>
          <th scope="col">Output</th>
        </tr>
      </thead>
      <tbody>
        {props.checks.map((c) => (
          <tr key={c.CheckID} data-check={c.CheckID}>
            <td>
              {c.Name} <span class="muted">{c.CheckID}</span>
            </td>
            <td>
              <Badge status={c.Status} />
            </td>
            <td>{c.Type || (c.CheckID === "serfHealth" ? "serf" : "")}</td>
            <td>
              <pre class="output">{c.Output}</pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
