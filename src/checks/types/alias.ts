/**
 * Alias checks: the health of another service instance or node, mirrored as it changes (no
 * interval, no thresholds: Consul's alias reports straight to the agent). See alias-check.ts.
 *
 * @module
 */
import { AugurError } from "../../lib/errors.js";
import { AliasRunner } from "../alias-check.js";
import type { CheckTypeSpec } from "./spec.js";

export const alias: CheckTypeSpec<"alias"> = {
  label: "alias",
  createRunner: (def, { sink, aliasSource, nodeName }) => {
    if (!aliasSource) throw new AugurError("INTERNAL", "alias checks need the catalog to read");
    return new AliasRunner({
      source: aliasSource,
      localNode: nodeName,
      checkId: def.id,
      ...(def.aliasNode ? { aliasNode: def.aliasNode } : {}),
      ...(def.aliasService ? { aliasService: def.aliasService } : {}),
      sink,
    });
  },
};
