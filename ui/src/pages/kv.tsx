import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, encPath, fromBase64, isText, toBase64, useBlocking } from "../api";
import { ErrorText, Loading } from "../components";
import { Link, navigate } from "../router";
import type { KVPair } from "../types";

/**
 * The KV browser: `kv/<folder>/` lists one level (`?keys&separator=/`), `kv/<key>` edits a key.
 * Values are shown as text when they are UTF-8 text, else as base64 (switchable either way).
 */
export function Kv(props: { path: string }): JSX.Element {
  return props.path === "" || props.path.endsWith("/") ? (
    <Folder prefix={props.path} />
  ) : (
    <KeyEditor keyName={props.path} />
  );
}

function Crumbs(props: { path: string }): JSX.Element {
  const parts = props.path.split("/").filter((p, i, a) => p !== "" || i < a.length - 1);
  let acc = "";
  return (
    <nav class="crumbs" aria-label="Breadcrumb">
      <Link to="kv/">Key / Value</Link> /{" "}
      {parts.slice(0, -1).map((p) => {
        acc += `${p}/`;
        return (
          <span key={acc}>
            <Link to={`kv/${encPath(acc)}`}>{p}</Link> /{" "}
          </span>
        );
      })}
    </nav>
  );
}

function Folder(props: { prefix: string }): JSX.Element {
  const keys = useBlocking<string[]>(`/v1/kv/${encPath(props.prefix)}?keys&separator=/`, []);
  const [newKey, setNewKey] = useState("");
  const [error, setError] = useState("");
  const list = (keys.data ?? []).filter((k) => k !== props.prefix);
  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    const name = newKey.trim();
    if (!name) return;
    const full = props.prefix + name;
    if (full.endsWith("/")) {
      // A folder is a key ending in "/", as Consul's UI creates it.
      const res = await api("PUT", `/v1/kv/${encPath(full)}`, "");
      if (!res.ok) return setError(await res.text());
      setNewKey("");
      return;
    }
    navigate(`kv/${encPath(full)}?new`);
  };
  const removeFolder = async (key: string): Promise<void> => {
    if (!confirm(`Delete ${key} and everything under it?`)) return;
    const res = await api("DELETE", `/v1/kv/${encPath(key)}?recurse`);
    if (!res.ok) setError(await res.text());
  };
  return (
    <section aria-labelledby="page-title">
      {props.prefix ? <Crumbs path={props.prefix} /> : null}
      <h1 id="page-title">{props.prefix || "Key / Value"}</h1>
      <form class="inline-form" onSubmit={create}>
        <label>
          <span>New key (end with / for a folder)</span>
          <input
            name="new-key"
            value={newKey}
            onInput={(e) => setNewKey((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Create</button>
      </form>
      <ErrorText text={keys.error || error} />
      <Loading loading={keys.loading && !keys.data} />
      {keys.data && list.length === 0 ? <p>No keys here yet.</p> : null}
      <ul class="kv-list">
        {list.map((k) => {
          const name = k.slice(props.prefix.length);
          return (
            <li key={k} data-key={k}>
              <Link to={`kv/${encPath(k)}`}>
                <span aria-hidden="true">{k.endsWith("/") ? "📁 " : "🔑 "}</span>
                {name}
              </Link>
              {k.endsWith("/") ? (
                <button
                  type="button"
                  class="link danger"
                  onClick={() => void removeFolder(k)}
                  aria-label={`Delete folder ${k}`}
                >
                  Delete
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function KeyEditor(props: { keyName: string }): JSX.Element {
  const isNew = location.search.includes("new");
  const pair = useBlocking<KVPair[] | null>(`/v1/kv/${encPath(props.keyName)}`, null);
  const current = pair.data?.[0];
  const [mode, setMode] = useState<"text" | "base64">("text");
  const [value, setValue] = useState("");
  const [flags, setFlags] = useState("0");
  const [dirty, setDirty] = useState(false);
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  // The view the user picked survives a refresh of the value (text only while it is text).
  const chosenMode = useRef<"text" | "base64" | null>(null);
  // A change by someone else (or our own save coming back) replaces the form unless the user is
  // editing it.
  useEffect(() => {
    if (dirty || pair.data === undefined) return;
    const raw = current?.Value ?? null;
    const m = isText(raw) ? (chosenMode.current ?? "text") : "base64";
    setMode(m);
    setValue(m === "text" ? fromBase64(raw) : (raw ?? ""));
    setFlags(String(current?.Flags ?? 0));
  }, [pair.data]);
  const switchMode = (to: "text" | "base64"): void => {
    if (to === mode) return;
    chosenMode.current = to;
    try {
      setValue(to === "base64" ? toBase64(value) : fromBase64(value));
      setMode(to);
      setError("");
    } catch {
      setError("The value is not valid base64");
    }
  };
  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!/^\d+$/.test(flags.trim())) return setError("Flags must be a non-negative integer");
    let body: BodyInit;
    try {
      body = mode === "text" ? value : fromBase64Bytes(value);
    } catch {
      return setError("The value is not valid base64");
    }
    const cas = current ? `&cas=${current.ModifyIndex}` : isNew ? "&cas=0" : "";
    const res = await api(
      "PUT",
      `/v1/kv/${encPath(props.keyName)}?flags=${flags.trim()}${cas}`,
      body,
    );
    const text = await res.text();
    if (!res.ok) return setError(text);
    if (text.trim() === "false")
      return setError(
        "Not saved: the key changed since it was loaded. Review the new value and save again.",
      );
    setError("");
    setDirty(false);
    setMessage("Saved");
    if (isNew) navigate(`kv/${encPath(props.keyName)}`);
  };
  const remove = async (): Promise<void> => {
    if (!confirm(`Delete ${props.keyName}?`)) return;
    const res = await api("DELETE", `/v1/kv/${encPath(props.keyName)}`);
    if (!res.ok) return setError(await res.text());
    const parent = props.keyName.includes("/")
      ? props.keyName.slice(0, props.keyName.lastIndexOf("/") + 1)
      : "";
    navigate(`kv/${encPath(parent)}`);
  };
  return (
    <section aria-labelledby="page-title">
      <Crumbs path={props.keyName} />
      <h1 id="page-title">{props.keyName}</h1>
      <Loading loading={pair.loading && pair.data === undefined} />
      {pair.data === null && !isNew ? <p>This key does not exist yet; saving creates it.</p> : null}
      <form class="kv-form" onSubmit={save}>
        <fieldset class="mode">
          <legend>Show value as</legend>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === "text"}
              onChange={() => switchMode("text")}
            />{" "}
            Text
          </label>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === "base64"}
              onChange={() => switchMode("base64")}
            />{" "}
            Base64
          </label>
        </fieldset>
        <label>
          <span>Value</span>
          <textarea
            name="value"
            rows={10}
            value={value}
            onInput={(e) => (
              setValue((e.target as HTMLTextAreaElement).value),
              setDirty(true),
              setMessage("")
            )}
          />
        </label>
        <label>
          <span>Flags</span>
          <input
            name="flags"
            inputMode="numeric"
            value={flags}
            onInput={(e) => (setFlags((e.target as HTMLInputElement).value), setDirty(true))}
          />
        </label>
        {current ? (
          <p class="muted">
            ModifyIndex {current.ModifyIndex} · CreateIndex {current.CreateIndex}
            {current.Session ? ` · locked by session ${current.Session}` : ""}
          </p>
        ) : null}
        <div class="buttons">
          <button type="submit">Save</button>
          {current ? (
            <button type="button" class="danger" onClick={() => void remove()}>
              Delete
            </button>
          ) : null}
          <span role="status" class="ok">
            {message}
          </span>
        </div>
        <ErrorText text={pair.error || error} />
      </form>
    </section>
  );
}

/** Base64 to the raw bytes (a string body would be sent as UTF-8 and change bytes above 0x7f). */
function fromBase64Bytes(b64: string): Blob {
  return new Blob([Uint8Array.from(atob(b64.trim()), (c) => c.charCodeAt(0))]);
}
