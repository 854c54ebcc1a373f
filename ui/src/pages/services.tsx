import type { JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import { enc, useBlocking } from "../api";
import { Badge, ErrorText, HealthSummary, Loading, VirtualList, worst } from "../components";
import { Link } from "../router";
import type { HealthCheck, ServiceEntry } from "../types";

interface Summary {
  Name: string;
  Tags: string[] | null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
}

/** The services list, as Consul's UI reads it: one blocking `internal/ui/services` query. */
export function Services(): JSX.Element {
  const services = useBlocking<Summary[]>("/v1/internal/ui/services");
  const [query, setQuery] = useState("");
  const rows = services.data ?? [];
  const q = query.trim().toLowerCase();
  const shown = useMemo(
    () =>
      q
        ? rows.filter(
            (r) =>
              r.Name.toLowerCase().includes(q) ||
              (r.Tags ?? []).some((t) => t.toLowerCase().includes(q)),
          )
        : rows,
    [rows, q],
  );
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
      <ErrorText text={services.error} />
      <Loading loading={services.loading && !services.data} />
      <VirtualList
        items={shown}
        rowHeight={48}
        label="Services"
        header={
          <div class="vhead" aria-hidden="true">
            <span>Service</span>
            <span>Health checks</span>
            <span>Instances</span>
            <span>Tags</span>
          </div>
        }
        row={(r) => (
          <div class="svc-row" data-service={r.Name}>
            <Link to={`services/${enc(r.Name)}`} class="name">
              <Badge
                status={r.ChecksCritical ? "critical" : r.ChecksWarning ? "warning" : "passing"}
              >
                {""}
              </Badge>
              {r.Name}
            </Link>
            <HealthSummary
              passing={r.ChecksPassing}
              warning={r.ChecksWarning}
              critical={r.ChecksCritical}
            />
            <span class="instances">
              {r.InstanceCount} {r.InstanceCount === 1 ? "instance" : "instances"}
            </span>
            <span class="tags">
              {(r.Tags ?? []).slice(0, 6).map((t) => (
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
