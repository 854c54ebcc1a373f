/**
 * The check types augur runs, one line each: the name (a Consul check type, as the decoder in
 * config/definitions.ts recognises it) and its spec (`types/<type>.ts`). Every other type is
 * refused at registration. Adding a type is one spec file and one line below.
 *
 * @module
 */
import type { CheckDefinition, CheckDefinitionOf, CheckType } from "../catalog/types.js";
import { alias } from "./types/alias.js";
import { grpc } from "./types/grpc.js";
import { h2ping } from "./types/h2ping.js";
import { http } from "./types/http.js";
import { script } from "./types/script.js";
import type { CheckTypeSpec } from "./types/spec.js";
import { tcp } from "./types/tcp.js";
import { ttl } from "./types/ttl.js";
import { udp } from "./types/udp.js";

export type { CheckTypeSpec, CheckRunnerContext } from "./types/spec.js";

/** The order is the order refusals list them in. */
export const CHECK_TYPE_SPECS = {
  ttl,
  http,
  tcp,
  script,
  udp,
  grpc,
  h2ping,
  alias,
} as const satisfies { readonly [T in CheckType]?: CheckTypeSpec<T> };

export type RunnableCheckType = keyof typeof CHECK_TYPE_SPECS;

export type RunnableCheckDefinition = CheckDefinitionOf<RunnableCheckType>;

export function isRunnable(def: CheckDefinition): def is RunnableCheckDefinition {
  return Object.hasOwn(CHECK_TYPE_SPECS, def.type);
}

// The registry seen as a mapped type, so that looking up a type gives that type's spec.
const SPECS: { readonly [T in RunnableCheckType]: CheckTypeSpec<T> } = CHECK_TYPE_SPECS;

export function checkTypeSpec<T extends RunnableCheckType>(type: T): CheckTypeSpec<T> {
  return SPECS[type];
}
