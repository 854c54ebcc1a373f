/**
 * H2PING checks: an HTTP/2 PING to `h2ping` every interval, over TLS unless
 * `h2ping_use_tls` is false (see h2ping-check.ts).
 *
 * @module
 */
import { h2pingProbe } from "../h2ping-check.js";
import type { CheckTypeSpec } from "./spec.js";

export const h2ping: CheckTypeSpec<"h2ping"> = {
  label: "h2ping",
  createRunner: (def, { periodic, timeoutMs }) =>
    periodic(
      h2pingProbe({
        address: def.h2ping,
        timeoutMs,
        useTls: def.h2pingUseTls,
        ...(def.tlsSkipVerify ? { tlsSkipVerify: true } : {}),
        ...(def.tlsServerName ? { tlsServerName: def.tlsServerName } : {}),
      }),
    ),
};
