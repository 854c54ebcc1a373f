/**
 * The ACL token the UI sends as `X-Consul-Token`, kept in this browser's localStorage (as
 * Consul's UI keeps its token) until the user removes it. index.html's early read sends it too.
 */
export const TOKEN_KEY = "augur:token";

export function getToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return ""; // storage disabled: no token
  }
}

/** Stores (or, with "", removes) the token; the caller reloads so every page reads with it. */
export function setToken(token: string): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}
