/**
 * gRPC checks: the grpc.health.v1 Health/Check call to `grpc` (`host:port[/service]`) every
 * interval, over TLS with `grpc_use_tls` (see grpc-check.ts).
 *
 * @module
 */
import { grpcProbe } from "../grpc-check.js";
import type { CheckTypeSpec } from "./spec.js";

export const grpc: CheckTypeSpec<"grpc"> = {
  label: "grpc",
  createRunner: (def, { periodic, timeoutMs }) =>
    periodic(
      grpcProbe({
        target: def.grpc,
        timeoutMs,
        ...(def.grpcUseTls ? { useTls: true } : {}),
        ...(def.tlsSkipVerify ? { tlsSkipVerify: true } : {}),
        ...(def.tlsServerName ? { tlsServerName: def.tlsServerName } : {}),
      }),
    ),
};
