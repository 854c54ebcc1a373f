/**
 * `GET /v1/snapshot` (save) and `PUT /v1/snapshot` (restore), as Consul's agent/snapshot_endpoint.go:
 * the save answers the gzip'd archive with `X-Consul-Index` (the revision it was read at) and
 * takes `?stale` and `?dc`; the restore takes the archive as the body and answers 200 with no
 * body. Formats and semantics: catalog/snapshot.ts.
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import { restoreSnapshot, saveSnapshot } from "../../catalog/snapshot.js";
import { SNAPSHOT_ARCHIVE_MAX_BYTES } from "../../catalog/snapshot-archive.js";
import { checkScopeParams, readConsistency } from "../blocking.js";
import { empty, raw } from "../response.js";
import type { ApiRequest } from "../request.js";
import { route, type Route } from "../router.js";

/** What Go's http.DetectContentType calls a gzip stream, which Consul's answer is sniffed as. */
const GZIP = "application/x-gzip";

export function snapshotRoutes(
  catalog: Catalog,
  /** Run after a restore: ACLs put back the built-in policy, anonymous and initial tokens. */
  afterRestore: () => Promise<void> = async () => undefined,
): Route[] {
  const authorizeRestore = (req: ApiRequest): void => {
    checkScopeParams(req, catalog.datacenter);
    if (req.aclEnabled) req.authorizer().requireGlobal("acl", "write");
  };
  // One restore at a time: two interleaved would each plan against the other's half-written store.
  let restoring: Promise<unknown> = Promise.resolve();
  return [
    route(
      "/v1/snapshot",
      {
        GET: async (req) => {
          checkScopeParams(req, catalog.datacenter);
          // Consul's Snapshot: a management token (`acl = "write"`), either way.
          if (req.aclEnabled) req.authorizer().requireGlobal("acl", "write");
          // Every read of the store is of one revision; a stale read is the same read.
          readConsistency(req);
          const { archive, index } = await saveSnapshot(catalog);
          return raw(archive, GZIP, { index });
        },
        PUT: async (req) => {
          // Checked again: a request without a body skips beforeBody.
          authorizeRestore(req);
          const run = restoring.then(async () => {
            await restoreSnapshot(catalog, req.body);
            await afterRestore();
          });
          restoring = run.catch(() => undefined);
          await run;
          return empty();
        },
      },
      // An archive may be far past the API's 1 MiB; only a caller the restore accepts may send one.
      {
        largeBody: {
          limit: SNAPSHOT_ARCHIVE_MAX_BYTES,
          beforeBody: authorizeRestore,
        },
      },
    ),
  ];
}
