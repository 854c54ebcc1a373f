import type { JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import { api, enc, useBlocking } from "../api";
import { Badge, ErrorText, Loading, ago } from "../components";
import { Link } from "../router";
import type { Deliveries, Delivery, Watch } from "../types";

const STATE_BADGE: Record<string, string> = {
  // plans (watch state)
  idle: "passing",
  querying: "passing",
  handling: "passing",
  backoff: "critical",
  // delivery workers (handler state)
  delivering: "passing",
  waiting: "warning",
  standby: "maintenance",
  stopping: "maintenance",
  stopped: "maintenance",
  // deliveries
  delivered: "passing",
  pending: "warning",
  dead: "critical",
};

interface Change {
  entity: string;
  kind: string;
  transition: string | null;
}

interface DetectedEvent {
  Watch: string;
  EventID: string;
  Index: string;
  DetectedAt: string | null;
  Changes: { Entity: string; Kind: string; Transition: string | null }[];
  ChangesOmitted: number;
}

interface TimelineEvent {
  id: string;
  watch: string;
  index: string;
  at: string | null;
  changes: Change[] | undefined;
  omitted: number;
  records: Delivery[];
}

interface ChangeDoc {
  event_id: string;
  watch: string;
  type: string;
  index: string;
  detected_at: string;
  changes: Change[];
}

/** The change document in a delivery's body, when the handler gets one (payload changes/both). */
function changeDoc(d: Delivery): ChangeDoc | undefined {
  if (!d.Body || !d.Body.startsWith('{"event_id"')) return undefined;
  try {
    const doc = JSON.parse(d.Body) as ChangeDoc;
    return Array.isArray(doc.changes) ? doc : undefined;
  } catch {
    return undefined;
  }
}

const latency = (d: Delivery): string =>
  d.FinishedAt && d.CreatedAt
    ? `${Math.max(0, Date.parse(d.FinishedAt) - Date.parse(d.CreatedAt))} ms`
    : "—";

/** Every watch: type, state, last index, handlers (kind, target, state, queue depth). */
export function Watches(): JSX.Element {
  const watches = useBlocking<Watch[]>("/v1/agent/watches");
  const list = watches.data ?? [];
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Watches</h1>
      <p class="muted">
        What each watch detected and delivered. <Link to="watches/-/timeline">All deliveries</Link>
      </p>
      <ErrorText text={watches.error} />
      <Loading loading={watches.loading && !watches.data} />
      {watches.data && list.length === 0 ? (
        <p>No watches are configured (see docs/watches.md).</p>
      ) : null}
      <table>
        <thead>
          <tr>
            <th scope="col">Watch</th>
            <th scope="col">Type</th>
            <th scope="col">State</th>
            <th scope="col">Last index</th>
            <th scope="col">Events</th>
            <th scope="col">Handlers</th>
          </tr>
        </thead>
        <tbody>
          {list.map((w) => (
            <tr key={w.ID} data-watch={w.ID}>
              <td>
                <Link to={`watches/${enc(w.ID)}/timeline`}>{w.ID}</Link>
                {w.LastError ? <div class="error small">{w.LastError}</div> : null}
              </td>
              <td>{w.Type}</td>
              <td>
                <Badge status={STATE_BADGE[w.State] ?? "warning"}>{w.State}</Badge>
              </td>
              <td>{w.Index ?? "—"}</td>
              <td>{w.Events}</td>
              <td>
                {w.Handlers.map((h) => (
                  <div key={h.Key}>
                    {h.Kind} <code>{h.Target}</code>{" "}
                    <Badge status={STATE_BADGE[h.State] ?? "warning"}>{h.State}</Badge>{" "}
                    {h.Depth ? <span class="muted">{h.Depth} queued</span> : null}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/**
 * One watch's timeline (`-` for every watch): its events newest first, each with what changed
 * (the per-entity transitions of the change document) and each handler's delivery (status,
 * attempts, latency, error); then the dead letters, each with a Replay button.
 */
export function Timeline(props: { watch: string }): JSX.Element {
  const scope = props.watch === "-" ? "" : `&watch=${enc(props.watch)}`;
  const watches = useBlocking<Watch[]>("/v1/agent/watches");
  const handlerNames = useMemo(() => {
    const m = new Map<string, string>();
    for (const w of watches.data ?? [])
      for (const h of w.Handlers) m.set(h.Key, `${h.Kind} ${h.Target}`);
    return m;
  }, [watches.data]);
  const handler = (key: string): string => handlerNames.get(key) ?? key;
  // Blocking reads: a replay, like any delivery, moves the watch engine's index, so both wake
  // without a refresh of their own.
  const detected = useBlocking<DetectedEvent[]>(
    `/v1/agent/watch/events${props.watch === "-" ? "" : `?watch=${enc(props.watch)}`}`,
  );
  const report = useBlocking<Deliveries>(`/v1/agent/watch/deliveries?limit=100&body${scope}`);
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const events = useMemo(() => {
    const byEvent = new Map<string, TimelineEvent>();
    for (const e of detected.data ?? [])
      byEvent.set(e.EventID, {
        id: e.EventID,
        watch: e.Watch,
        index: e.Index,
        at: e.DetectedAt,
        changes: e.Changes.map((c) => ({
          entity: c.Entity,
          kind: c.Kind,
          transition: c.Transition,
        })),
        omitted: e.ChangesOmitted,
        records: [],
      });
    const all = [
      ...(report.data?.Pending ?? []),
      ...(report.data?.Recent ?? []),
      ...(report.data?.Dead ?? []),
    ];
    for (const d of all) {
      let e = byEvent.get(d.EventID);
      if (!e) {
        // Older than the watch's remembered events: its change document, if the handler got one.
        const doc = changeDoc(d);
        e = {
          id: d.EventID,
          watch: d.Watch,
          index: d.Index,
          at: d.CreatedAt,
          changes: doc?.changes,
          omitted: 0,
          records: [],
        };
        byEvent.set(d.EventID, e);
      }
      e.records.push(d);
    }
    return [...byEvent.values()].sort((a, b) => Date.parse(b.at ?? "") - Date.parse(a.at ?? ""));
  }, [detected.data, report.data]);
  const replay = async (id: string): Promise<void> => {
    const res = await api("PUT", `/v1/agent/watch/replay/${enc(id)}`);
    if (!res.ok) return setError(await res.text());
    setError("");
    setMessage(`Replayed ${id}`);
  };
  const dead = report.data?.Dead ?? [];
  return (
    <section aria-labelledby="page-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link to="watches">Watches</Link> /
      </nav>
      <h1 id="page-title">{props.watch === "-" ? "All watches" : props.watch}: timeline</h1>
      <ErrorText text={report.error || detected.error || error} />
      <Loading loading={report.loading && !report.data} />
      <p role="status" class="ok">
        {message}
      </p>
      <h2>Dead letters ({dead.length})</h2>
      {dead.length === 0 ? <p class="muted">None.</p> : null}
      <table class="dead">
        <thead>
          <tr>
            <th scope="col">Delivery</th>
            <th scope="col">Watch / handler</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last error</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {dead.map((d) => (
            <tr key={d.ID} data-dead={d.ID}>
              <td>
                <code>{d.ID}</code>
                <div class="muted small">
                  index {d.Index} · {ago(d.FinishedAt)}
                </div>
              </td>
              <td>
                {d.Watch}
                <div class="muted small">{handler(d.Handler)}</div>
              </td>
              <td>{d.Attempts}</td>
              <td class="error small">{d.LastError}</td>
              <td>
                <button
                  type="button"
                  onClick={() => void replay(d.ID)}
                  aria-label={`Replay delivery ${d.ID}`}
                >
                  Replay
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Timeline</h2>
      {events.length === 0 && report.data && detected.data ? (
        <p class="muted">Nothing detected yet.</p>
      ) : null}
      <ol class="timeline">
        {events.map((e) => (
          <li key={e.id} class="event" data-event={e.id}>
            <div class="event-head">
              <strong>{e.watch}</strong>{" "}
              <span class="muted">
                index {e.index} · detected {ago(e.at)}
              </span>
            </div>
            {e.changes ? (
              <ul class="changes">
                {e.changes.map((c, i) => (
                  <li key={i} data-entity={c.entity}>
                    <code>{c.entity}</code> {c.kind}
                    {c.transition ? (
                      <span class="transition"> {c.transition.replace("→", " → ")}</span>
                    ) : null}
                  </li>
                ))}
                {e.omitted ? <li class="muted">and {e.omitted} more changes</li> : null}
              </ul>
            ) : (
              <p class="muted small">The changes of this older event are no longer kept.</p>
            )}
            {e.records.length === 0 ? (
              <p class="muted small">No deliveries (no handler takes this event).</p>
            ) : null}
            <table class="deliveries">
              <caption class="sr-only">Deliveries of this event</caption>
              <thead>
                <tr>
                  <th scope="col">Handler</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Latency</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {e.records.map((d) => (
                  <tr key={d.ID} data-delivery={d.ID} data-delivery-status={d.Status}>
                    <td>{handler(d.Handler)}</td>
                    <td>
                      <Badge status={STATE_BADGE[d.Status] ?? "warning"}>{d.Status}</Badge>
                    </td>
                    <td>
                      {d.Attempts}
                      {d.Replays ? <span class="muted"> ({d.Replays} replays)</span> : null}
                    </td>
                    <td>{latency(d)}</td>
                    <td class="error small">{d.LastError}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </li>
        ))}
      </ol>
    </section>
  );
}
