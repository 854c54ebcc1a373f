import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, enc, encPath, useBlocking, usePoll } from "../api";
import { Badge, ErrorText, Loading } from "../components";
import { Link } from "../router";
import type { KVPair, Member, Session } from "../types";

/** Sessions (live), and the locks they hold: the KV keys whose `Session` is theirs. */
export function Sessions(): JSX.Element {
  const sessions = useBlocking<Session[]>("/v1/session/list");
  const [locks, setLocks] = useState<Record<string, string[]>>({});
  const [error, setError] = useState("");
  const destroy = async (id: string): Promise<void> => {
    if (!confirm(`Invalidate session ${id}? Its locks are released.`)) return;
    const res = await api("PUT", `/v1/session/destroy/${enc(id)}`);
    if (!res.ok) setError(await res.text());
  };
  const showLocks = async (id: string): Promise<void> => {
    // Only the keys this session holds, found on demand: a whole-KV read per session list change
    // would cost what the KV store weighs.
    const res = await api("GET", `/v1/kv/?recurse`);
    const pairs = res.ok ? ((await res.json()) as KVPair[]) : [];
    setLocks((l) => ({ ...l, [id]: pairs.filter((p) => p.Session === id).map((p) => p.Key) }));
  };
  const list = sessions.data ?? [];
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Sessions and locks</h1>
      <ErrorText text={sessions.error || error} />
      <Loading loading={sessions.loading && !sessions.data} />
      {sessions.data && list.length === 0 ? <p>No sessions.</p> : null}
      <table>
        <thead>
          <tr>
            <th scope="col">Name / ID</th>
            <th scope="col">Node</th>
            <th scope="col">Behavior</th>
            <th scope="col">TTL</th>
            <th scope="col">Lock delay</th>
            <th scope="col">Locks</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((s) => (
            <tr key={s.ID} data-session={s.ID}>
              <td>
                {s.Name || <span class="muted">(no name)</span>}
                <br />
                <code>{s.ID}</code>
              </td>
              <td>
                <Link to={`nodes/${enc(s.Node)}`}>{s.Node}</Link>
              </td>
              <td>{s.Behavior}</td>
              <td>{s.TTL || "—"}</td>
              <td>{Math.round(s.LockDelay / 1e9)}s</td>
              <td>
                {locks[s.ID] ? (
                  locks[s.ID]!.length ? (
                    locks[s.ID]!.map((k) => (
                      <div key={k}>
                        <Link to={`kv/${encPath(k)}`}>{k}</Link>
                      </div>
                    ))
                  ) : (
                    "none"
                  )
                ) : (
                  <button type="button" class="link" onClick={() => void showLocks(s.ID)}>
                    Show locks
                  </button>
                )}
              </td>
              <td>
                <button
                  type="button"
                  class="danger"
                  onClick={() => void destroy(s.ID)}
                  aria-label={`Invalidate session ${s.ID}`}
                >
                  Invalidate
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const MEMBER_STATUS: Record<number, [string, string]> = {
  0: ["none", "warning"],
  1: ["alive", "passing"],
  2: ["leaving", "warning"],
  3: ["left", "maintenance"],
  4: ["failed", "critical"],
};

/** Members as `augur members` lists them: alive, failed and left each shown as such. */
export function Members(): JSX.Element {
  const members = usePoll<Member[]>("/v1/agent/members", 3000);
  const list = members.data ?? [];
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Members</h1>
      <ErrorText text={members.error} />
      <Loading loading={members.loading && !members.data} />
      <table>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Address</th>
            <th scope="col">Status</th>
            <th scope="col">Type</th>
          </tr>
        </thead>
        <tbody>
          {list.map((m) => {
            const [label, badge] = MEMBER_STATUS[m.Status] ?? ["unknown", "warning"];
            return (
              <tr key={m.Name} data-member={m.Name} data-member-status={label}>
                <td>
                  <Link to={`nodes/${enc(m.Name)}`}>{m.Name}</Link>
                </td>
                <td>
                  {m.Addr}:{m.Port}
                </td>
                <td>
                  <Badge status={badge}>{label}</Badge>
                </td>
                <td>{m.Tags["role"] === "consul" ? "server" : "client"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
