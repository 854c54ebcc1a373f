/**
 * The HTTP client for Consul's API (augur's agent or a real Consul).
 *
 * @module
 */
export {
  ConsulClient,
  escapePath,
  type ConsulClientOptions,
  type RequestOptions,
  type HttpMethod,
  type QueryParams,
  type KvPutOptions,
  type KvDeleteOptions,
  type EventFireOptions,
  type BlockingReadOptions,
  type Indexed,
  type SessionCreateOptions,
} from "./consul-client.js";
export {
  type ClientResponse,
  UnexpectedResponseError,
  requireOk,
  parseIndexHeader,
} from "./response.js";
export { DEFAULT_HTTP_ADDR, normalizeAddress, resolveAddress, resolveToken } from "./address.js";
export type * from "./types.js";
