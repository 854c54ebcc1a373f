/**
 * UDP checks: an empty datagram to `udp` every interval; an answer or silence is passing, an
 * ICMP port-unreachable critical (see udp-check.ts).
 *
 * @module
 */
import { udpProbe } from "../udp-check.js";
import type { CheckTypeSpec } from "./spec.js";

export const udp: CheckTypeSpec<"udp"> = {
  label: "udp",
  createRunner: (def, { periodic, timeoutMs }) =>
    periodic(udpProbe({ address: def.udp, timeoutMs })),
};
