/**
 * Builds the handler for a definition: loads the HMAC secret of a signing HTTP handler once,
 * at (re)start, so a missing secret fails the start instead of every delivery.
 *
 * @module
 */
import { loadSecret } from "../signing.js";
import type { HandlerDefinition } from "../types.js";
import type { Handler } from "./handler.js";
import { HttpHandler } from "./http-handler.js";
import { ScriptHandler } from "./script-handler.js";

export interface CreateHandlerOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Signing-secret variables that script handlers must not see (a live set). */
  readonly hiddenEnv?: ReadonlySet<string>;
  readonly killGraceMs?: number;
  readonly now?: () => number;
}

export async function createHandler(
  def: HandlerDefinition,
  options: CreateHandlerOptions = {},
): Promise<Handler> {
  if (def.kind === "script") {
    return new ScriptHandler(def, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.hiddenEnv ? { hiddenEnv: options.hiddenEnv } : {}),
      ...(options.killGraceMs !== undefined ? { killGraceMs: options.killGraceMs } : {}),
    });
  }
  const secret = def.signing ? await loadSecret(def.signing, options.env) : undefined;
  return new HttpHandler(def, {
    ...(secret ? { secret } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}
