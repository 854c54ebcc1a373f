/**
 * TCP checks: a connect (or, with `tcp_use_tls`, a TLS handshake) to `tcp` every interval.
 *
 * @module
 */
import { tcpProbe } from "../tcp-check.js";
import type { CheckTypeSpec } from "./spec.js";

export const tcp: CheckTypeSpec<"tcp"> = {
  label: "tcp",
  createRunner: (def, { periodic, timeoutMs }) =>
    periodic(
      tcpProbe({
        address: def.tcp,
        timeoutMs,
        ...(def.tcpUseTls ? { useTls: true } : {}),
        ...(def.tlsSkipVerify ? { tlsSkipVerify: true } : {}),
      }),
    ),
};
