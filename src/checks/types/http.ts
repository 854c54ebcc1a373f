/**
 * HTTP checks: a request to `http` every interval (see http-check.ts for the status rules).
 *
 * @module
 */
import { httpProbe } from "../http-check.js";
import type { CheckTypeSpec } from "./spec.js";

export const http: CheckTypeSpec<"http"> = {
  label: "http",
  createRunner: (def, { periodic, timeoutMs }) =>
    periodic(
      httpProbe({
        url: def.http,
        timeoutMs,
        outputMaxSize: def.outputMaxSize,
        ...(def.method ? { method: def.method } : {}),
        ...(def.header ? { header: def.header } : {}),
        ...(def.body ? { body: def.body } : {}),
        ...(def.tlsSkipVerify ? { tlsSkipVerify: true } : {}),
        ...(def.tlsServerName ? { tlsServerName: def.tlsServerName } : {}),
        ...(def.disableRedirects ? { disableRedirects: true } : {}),
      }),
    ),
};
