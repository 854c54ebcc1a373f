import type { JSX } from "preact";
import { useMemo } from "preact/hooks";
import { enc, useBlocking } from "../api";
import { Badge, ErrorText, HealthSummary, Loading, VirtualList, worst } from "../components";
import { Link } from "../router";
import type { HealthCheck, Node, NodeService } from "../types";
import { Checks } from "./services";

/** Nodes with the summary of their node-level checks (serfHealth and the like). */
export function Nodes(): JSX.Element {
  const nodes = useBlocking<Node[]>("/v1/catalog/nodes");
  // Only node-level checks (a node's health), not every service check of the catalog.
  const checks = useBlocking<HealthCheck[]>(
    `/v1/health/state/any?filter=${encodeURIComponent('ServiceID == ""')}`,
  );
  const byNode = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const c of checks.data ?? []) {
      const l = m.get(c.Node) ?? [];
      l.push(c.Status);
      m.set(c.Node, l);
    }
    return m;
  }, [checks.data]);
  const list = nodes.data ?? [];
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">
        Nodes <span class="muted">{nodes.data ? list.length : ""}</span>
      </h1>
      <ErrorText text={nodes.error || checks.error} />
      <Loading loading={nodes.loading && !nodes.data} />
      <VirtualList
        items={list}
        rowHeight={48}
        label="Nodes"
        row={(n) => {
          const s = byNode.get(n.Node) ?? [];
          const count = (st: string): number => s.filter((x) => x === st).length;
          return (
            <div class="svc-row" data-node={n.Node}>
              <Link to={`nodes/${enc(n.Node)}`} class="name">
                <Badge status={worst(s)}>{""}</Badge> {n.Node}
              </Link>
              <HealthSummary
                passing={count("passing")}
                warning={count("warning")}
                critical={s.length - count("passing") - count("warning")}
              />
              <span class="muted">{n.Address}</span>
            </div>
          );
        }}
      />
    </section>
  );
}

/** One node: its checks (with output) and the services registered on it. */
export function NodeDetail(props: { name: string }): JSX.Element {
  const node = useBlocking<{ Node: Node; Services: Record<string, NodeService> } | null>(
    `/v1/catalog/node/${enc(props.name)}`,
  );
  const checks = useBlocking<HealthCheck[]>(`/v1/health/node/${enc(props.name)}`);
  const services = Object.values(node.data?.Services ?? {});
  return (
    <section aria-labelledby="page-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link to="nodes">Nodes</Link> /
      </nav>
      <h1 id="page-title">
        {props.name} <span class="muted">{node.data?.Node.Address}</span>
      </h1>
      <ErrorText text={node.error || checks.error} />
      <Loading loading={node.loading && !node.data} />
      {node.data === null ? <p>This node is not in the catalog.</p> : null}
      <h2>Health checks</h2>
      <Checks checks={checks.data ?? []} />
      <h2>Services ({services.length})</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">ID</th>
            <th scope="col">Address</th>
            <th scope="col">Tags</th>
          </tr>
        </thead>
        <tbody>
          {services.map((s) => (
            <tr key={s.ID}>
              <td>
                <Link to={`services/${enc(s.Service)}`}>{s.Service}</Link>
              </td>
              <td>{s.ID}</td>
              <td>
                {s.Address || node.data?.Node.Address}
                {s.Port ? `:${s.Port}` : ""}
              </td>
              <td>{(s.Tags ?? []).join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
