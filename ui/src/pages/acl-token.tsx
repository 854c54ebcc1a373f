import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { ErrorText } from "../components";
import { getToken, setToken } from "../token";

interface TokenSelf {
  AccessorID: string;
  Description: string;
  Policies?: { Name: string }[];
}

/**
 * The ACL token the UI reads and writes with (Consul's UI asks for one the same way): saved in
 * this browser, sent as `X-Consul-Token`; without one the agent answers as to the anonymous token.
 */
export function AclToken(): JSX.Element {
  const current = getToken();
  const [value, setValue] = useState("");
  const [self, setSelf] = useState<TokenSelf | undefined>(undefined);
  const [error, setError] = useState("");
  useEffect(() => {
    if (!current) return;
    void (async () => {
      const res = await api("GET", "/v1/acl/token/self");
      if (res.ok) setSelf((await res.json()) as TokenSelf);
      else setError(await res.text());
    })();
  }, [current]);
  const save = (e: Event): void => {
    e.preventDefault();
    setToken(value.trim());
    location.reload();
  };
  const remove = (): void => {
    setToken("");
    location.reload();
  };
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">ACL token</h1>
      {current ? (
        <p data-token-state="set">
          Reading and writing with token <code>{self ? self.AccessorID : "…"}</code>
          {self?.Description ? ` (${self.Description})` : ""}
          {self?.Policies?.length
            ? `, policies: ${self.Policies.map((p) => p.Name).join(", ")}`
            : ""}
          .
        </p>
      ) : (
        <p data-token-state="none">
          No token: the agent answers as it does to anonymous requests (all of it while ACLs are
          off).
        </p>
      )}
      <ErrorText text={error} />
      <form class="inline-form" onSubmit={save}>
        <label>
          Token (SecretID)
          <input
            type="password"
            autoComplete="off"
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" disabled={!value.trim()}>
          Use this token
        </button>
      </form>
      {current ? (
        <p>
          <button type="button" class="danger" onClick={remove}>
            Forget the token
          </button>
        </p>
      ) : null}
    </section>
  );
}
