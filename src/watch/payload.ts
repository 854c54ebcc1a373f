/**
 * The body a handler receives, per its `payload` mode:
 *
 * - `consul` (default): exactly what Consul would hand the handler.
 * - `changes`: augur's change document — `{event_id, watch, type, index, detected_at, changes}`.
 * - `both`: the change document plus `consul`.
 *
 * Bodies are compact Go-style JSON; script stdin and HTTP bodies add the trailing newline of Go's
 * json.Encoder at delivery.
 *
 * @module
 */
import type { DetectedEvent } from "./detector.js";
import { goJson } from "./go-json.js";
import type { PayloadMode } from "./types.js";

/** The change document (also what `payload = "both"` extends). */
export function changeDocument(event: DetectedEvent): Record<string, unknown> {
  return {
    event_id: event.id,
    watch: event.watchId,
    type: event.type,
    index: event.index,
    detected_at: new Date(event.detectedAt).toISOString(),
    changes: event.changes,
  };
}

/** The body for a handler, or undefined when the handler has nothing to receive (`changes` with none). */
export function payloadFor(event: DetectedEvent, mode: PayloadMode): string | undefined {
  switch (mode) {
    case "consul":
      return event.synthetic ? undefined : goJson(event.consul);
    case "changes":
      return event.changes.length === 0 ? undefined : goJson(changeDocument(event));
    case "both":
      return goJson({ ...changeDocument(event), consul: event.consul });
  }
}
