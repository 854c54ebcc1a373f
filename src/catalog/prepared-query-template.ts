/**
 * Prepared query templates (Consul agent/consul/prepared_query/template.go and walk.go): every
 * string of the `Service` block is a HIL template, rendered for the name a query is looked up by.
 * augur reads the part of HIL that templates use: literal text, `$${` for a literal `${`, the
 * variables `name.full`, `name.prefix`, `name.suffix` and `agent.segment`, and `match(N)` with
 * an integer literal (docs/api.md). The regexp is Go's (RE2, linear time) through go-regexp.ts,
 * never a JS RegExp, so no name can make a lookup backtrack.
 *
 * @module
 */
import type { RE2JS } from "re2js";
import { compileGoRegexp, GoRegexpError } from "../lib/go-regexp.js";
import {
  TEMPLATE_TYPE_NAME_PREFIX_MATCH,
  type PreparedQueryDefinition,
  type ServiceQuery,
} from "./prepared-query-types.js";

/** A template that cannot be compiled or rendered; `message` is Consul's text. */
export class TemplateError extends Error {}

type Piece =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "var"; readonly name: string }
  | { readonly kind: "call"; readonly fn: string; readonly arg: number };

const IDENT = /^[A-Za-z_][A-Za-z0-9_.-]*/;
const CALL = /^([A-Za-z_][A-Za-z0-9_]*)\(\s*(-?\d+)\s*\)/;

/** Parses one string as HIL; throws the reason when it is not a template augur reads. */
function parseHil(text: string): Piece[] {
  const pieces: Piece[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      literal += "${";
      i += 3;
      continue;
    }
    if (!text.startsWith("${", i)) {
      literal += text[i];
      i++;
      continue;
    }
    const end = text.indexOf("}", i + 2);
    if (end < 0) throw new TemplateError(`at column ${i + 1}: unterminated interpolation "\${"`);
    const inner = text.slice(i + 2, end).trim();
    const call = CALL.exec(inner);
    const ident = IDENT.exec(inner);
    let piece: Piece;
    if (call && call[0].length === inner.length)
      piece = { kind: "call", fn: call[1] as string, arg: Number(call[2]) };
    else if (ident && ident[0].length === inner.length) piece = { kind: "var", name: inner };
    else
      throw new TemplateError(
        `at column ${i + 3}: expected a variable or match(<integer>), got ${JSON.stringify(inner)}`,
      );
    if (literal) pieces.push({ kind: "text", text: literal });
    literal = "";
    pieces.push(piece);
    i = end + 1;
  }
  if (literal) pieces.push({ kind: "text", text: literal });
  return pieces;
}

interface RenderContext {
  readonly vars: ReadonlyMap<string, string>;
  readonly matches: readonly string[];
}

function evaluate(pieces: readonly Piece[], ctx: RenderContext): string {
  let out = "";
  for (const p of pieces) {
    if (p.kind === "text") out += p.text;
    else if (p.kind === "var") {
      const v = ctx.vars.get(p.name);
      if (v === undefined) throw new TemplateError(`unknown variable accessed: ${p.name}`);
      out += v;
    } else {
      if (p.fn !== "match") throw new TemplateError(`unknown function called: ${p.fn}`);
      // Consul's match() never fails: an index out of range is "".
      out += ctx.matches[p.arg] ?? "";
    }
  }
  return out;
}

/** One string of the Service block: where it is (Consul's path) and how to read and set it. */
interface Slot {
  readonly path: string;
  get(s: ServiceQuery): string;
  set(s: ServiceQuery, v: string): void;
}

/** The Service block's strings in Go's field order (walk.go), as the template saw them. */
function slotsOf(s: ServiceQuery): Slot[] {
  const field = (name: "Service" | "SamenessGroup" | "Near" | "Peer"): Slot => ({
    path: `.${name}`,
    get: (q) => q[name],
    set: (q, v) => (q[name] = v),
  });
  const list = (name: "IgnoreCheckIDs" | "Tags", i: number): Slot => ({
    path: `.${name}[${i}]`,
    get: (q) => q[name]?.[i] ?? "",
    set: (q, v) => ((q[name] as string[])[i] = v),
  });
  const map = (name: "NodeMeta" | "ServiceMeta", k: string): Slot => ({
    path: `.${name}[${k}]`,
    get: (q) => q[name]?.[k] ?? "",
    set: (q, v) => ((q[name] as Record<string, string>)[k] = v),
  });
  const slots: Slot[] = [field("Service"), field("SamenessGroup")];
  (s.Failover.Datacenters ?? []).forEach((_, i) =>
    slots.push({
      path: `.Failover.Datacenters[${i}]`,
      get: (q) => q.Failover.Datacenters?.[i] ?? "",
      set: (q, v) => ((q.Failover.Datacenters as string[])[i] = v),
    }),
  );
  (s.Failover.Targets ?? []).forEach((_, i) => {
    for (const f of ["Peer", "Datacenter"] as const)
      slots.push({
        path: `.Failover.Targets[${i}].${f}`,
        get: (q) => q.Failover.Targets?.[i]?.[f] ?? "",
        set: (q, v) => {
          const t = q.Failover.Targets?.[i];
          if (t) t[f] = v;
        },
      });
  });
  (s.IgnoreCheckIDs ?? []).forEach((_, i) => slots.push(list("IgnoreCheckIDs", i)));
  slots.push(field("Near"));
  (s.Tags ?? []).forEach((_, i) => slots.push(list("Tags", i)));
  for (const k of Object.keys(s.NodeMeta ?? {})) slots.push(map("NodeMeta", k));
  for (const k of Object.keys(s.ServiceMeta ?? {})) slots.push(map("ServiceMeta", k));
  slots.push(field("Peer"));
  return slots;
}

/** A compiled template, ready to render for any name. */
export class CompiledTemplate {
  private constructor(
    private readonly query: PreparedQueryDefinition,
    private readonly trees: ReadonlyMap<string, Piece[]>,
    private readonly re: RE2JS | undefined,
  ) {}

  /** Consul's Compile: the type, every string's syntax, the regexp, then a trial render. */
  static compile(query: PreparedQueryDefinition): CompiledTemplate {
    if (query.Template.Type !== TEMPLATE_TYPE_NAME_PREFIX_MATCH)
      throw new TemplateError(`Bad Template.Type '${query.Template.Type}'`);
    const trees = new Map<string, Piece[]>();
    for (const slot of slotsOf(query.Service)) {
      const text = slot.get(query.Service);
      try {
        trees.set(slot.path, parseHil(text));
      } catch (err) {
        throw new TemplateError(
          `Bad format '${text}' in Service${slot.path}: ${(err as Error).message}`,
        );
      }
    }
    let re: RE2JS | undefined;
    if (query.Template.Regexp !== "") {
      try {
        re = compileGoRegexp(query.Template.Regexp);
      } catch (err) {
        if (!(err instanceof GoRegexpError)) throw err;
        throw new TemplateError(`Bad Regexp: ${err.message}`);
      }
    }
    const ct = new CompiledTemplate(structuredClone(query), trees, re);
    // As Consul: render once with the bare prefix, so a template that cannot render is refused now.
    ct.render(query.Name, "");
    return ct;
  }

  /** Consul's Render: the query with every Service string rendered for `name`. */
  render(name: string, agentSegment: string): PreparedQueryDefinition {
    const query = structuredClone(this.query);
    const matches: string[] = [];
    if (this.re) {
      const m = this.re.matcher(name);
      if (m.find()) for (let i = 0; i <= m.groupCount(); i++) matches.push(m.group(i) ?? "");
    }
    const vars = new Map([
      ["name.full", name],
      ["name.prefix", query.Name],
      // Go's strings.TrimPrefix: case-sensitive, though the lookup that chose us was not.
      ["name.suffix", name.startsWith(query.Name) ? name.slice(query.Name.length) : name],
      ["agent.segment", agentSegment],
    ]);
    for (const slot of slotsOf(query.Service)) {
      const tree = this.trees.get(slot.path);
      if (!tree) continue;
      try {
        slot.set(query.Service, evaluate(tree, { vars, matches }));
      } catch (err) {
        throw new TemplateError(
          `Bad evaluation for '${slot.get(query.Service)}' in Service${slot.path}: ${(err as Error).message}`,
        );
      }
    }
    // Consul builds a new list here, so a query without tags answers `[]` rather than null.
    if (query.Template.RemoveEmptyTags)
      query.Service.Tags = (query.Service.Tags ?? []).filter((t) => t !== "");
    return query;
  }
}
