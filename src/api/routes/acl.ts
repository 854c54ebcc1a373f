/**
 * `/v1/acl/*` (Consul agent/acl_endpoint.go): bootstrap, tokens, policies and roles, and
 * `/v1/agent/token/*`. While ACLs are off Consul answers every ACL endpoint with 401 `ACL support
 * disabled` (`checkACLDisabled`), which clients recognise (python-consul raises `ACLDisabled`).
 *
 * @module
 */
import type { Catalog } from "../../catalog/catalog.js";
import {
  ANONYMOUS_ACCESSOR_ID,
  aclHash,
  type AclPolicyRecord,
  type AclRoleRecord,
  type AclTokenRecord,
  type LinkInput,
  type PolicyInput,
  type RoleInput,
  type TokenInput,
} from "../../catalog/acl-store.js";
import type { Stored } from "../../catalog/view.js";
import { AugurError, badRequest } from "../../lib/errors.js";
import { asObject, jsonType, type JsonObject } from "../../lib/json-fields.js";
import type { ApiRequest } from "../request.js";
import { empty, json } from "../response.js";
import { route, type Route, type RouteHandler } from "../router.js";

export interface AclRouteOptions {
  /** Absent while ACLs are off. */
  readonly catalog?: Catalog;
  /** `PUT /v1/agent/token/<kind>`: sets the agent's `default` or `agent` token at run time. */
  readonly setAgentToken?: (kind: "default" | "agent", token: string) => void | Promise<void>;
  /** This agent's node: `agent/token/*` needs `agent` write on it, as Consul's AgentToken. */
  readonly nodeName?: string;
}

export function aclRoutes(options: AclRouteOptions = {}): Route[] {
  const catalog = options.catalog;
  if (catalog === undefined) {
    const disabled: RouteHandler = () => {
      throw new AugurError("ACL_DISABLED", "ACL support disabled");
    };
    return [
      route("/v1/acl/", { GET: disabled, PUT: disabled, POST: disabled, DELETE: disabled }),
      // Setting the agent's own tokens is an ACL operation too (AgentToken checks the same).
      route("/v1/agent/token/", { PUT: disabled }),
    ];
  }
  const acl = catalog.acl;
  const meta = (): { index: number } => ({ index: acl.tableIndex });
  return [
    route("/v1/acl/bootstrap", {
      PUT: async () => json(tokenJson(catalog, await acl.bootstrap(), true)),
    }),
    route("/v1/acl/token", {
      PUT: async (req) => {
        req.authorizer().requireGlobal("acl", "write");
        return json(tokenJson(catalog, await acl.upsertToken(tokenInput(req)), true));
      },
    }),
    route("/v1/acl/token/", {
      GET: (req) => {
        if (req.rest === "self") {
          const secret = req.token();
          req.authorizer();
          const t =
            secret === undefined || secret === ""
              ? acl.token(ANONYMOUS_ACCESSOR_ID)
              : acl.tokenBySecret(secret);
          if (!t) throw new AugurError("PERMISSION_DENIED", "ACL not found");
          return json(tokenJson(catalog, t, true), meta());
        }
        const authz = req.authorizer();
        authz.requireGlobal("acl", "read");
        const t = acl.token(accessorOf(req));
        if (!t) throw new AugurError("PERMISSION_DENIED", "ACL not found");
        return json(tokenJson(catalog, t, authz.allowsGlobal("acl", "write")), meta());
      },
      PUT: async (req) => {
        req.authorizer().requireGlobal("acl", "write");
        if (req.rest.endsWith("/clone")) {
          const id = req.rest.slice(0, -"/clone".length);
          const body = req.body.length > 0 ? asObject(req.json(), "body") : {};
          const description = body["Description"];
          return json(
            tokenJson(
              catalog,
              await acl.cloneToken(id, typeof description === "string" ? description : undefined),
              true,
            ),
          );
        }
        const id = accessorOf(req);
        const input = tokenInput(req);
        if (input.AccessorID !== undefined && input.AccessorID !== "" && input.AccessorID !== id)
          throw badRequest("Token Accessor ID in URL and payload do not match");
        return json(tokenJson(catalog, await acl.upsertToken(input, id), true));
      },
      DELETE: async (req) => {
        req.authorizer().requireGlobal("acl", "write");
        await acl.deleteToken(accessorOf(req));
        return json(true);
      },
    }),
    route("/v1/acl/tokens", {
      GET: (req) => {
        const authz = req.authorizer();
        authz.requireGlobal("acl", "read");
        const policy = req.param("policy");
        const role = req.param("role");
        const secrets = authz.allowsGlobal("acl", "write");
        const list = acl
          .tokens()
          .filter((t) => policy === undefined || t.value.Policies.includes(policy))
          .filter((t) => role === undefined || t.value.Roles.includes(role))
          .map((t) => tokenJson(catalog, t, secrets));
        return json(list, meta());
      },
    }),
    route("/v1/acl/policy", {
      PUT: async (req) => {
        req.authorizer().requireGlobal("acl", "write");
        return json(policyJson(await acl.upsertPolicy(policyInput(req))));
      },
    }),
    route("/v1/acl/policy/", {
      GET: (req) => {
        req.authorizer().requireGlobal("acl", "read");
        const p = req.rest.startsWith("name/")
          ? acl.policyByName(req.rest.slice(5))
          : acl.policy(idOf(req, "policy"));
        if (!p) throw new AugurError("NOT_FOUND", "ACL policy not found");
        return json(policyJson(p), meta());
      },
      PUT: async (req) => {
        req.authorizer().requireGlobal("acl", "write");
        const id = idOf(req, "policy");
        const input = policyInput(req);
        if (input.ID !== undefined && input.ID !== "" && input.ID !== id)
          throw badRequest("Policy ID in URL and payload do not match");
        return json(policyJson(await acl.upsertPolicy(input, id)));
      },
      DELETE: async (req) => {
        req.authorizer().requireGlobal("acl", "write");
        await acl.deletePolicy(idOf(req, "policy"));
        return json(true);
      },
    }),
    route("/v1/acl/policies", {
      GET: (req) => {
        req.authorizer().requireGlobal("acl", "read");
        return json(acl.policies().map(policyStub), meta());
      },
    }),
    route("/v1/acl/role", {
      PUT: async (req) => {
        req.authorizer().requireGlobal("acl", "write");
        return json(roleJson(catalog, await acl.upsertRole(roleInput(req))));
      },
    }),
    route("/v1/acl/role/", {
      GET: (req) => {
        req.authorizer().requireGlobal("acl", "read");
        const r = req.rest.startsWith("name/")
          ? acl.roleByName(req.rest.slice(5))
          : acl.role(idOf(req, "role"));
        if (!r) throw new AugurError("NOT_FOUND", "ACL role not found");
        return json(roleJson(catalog, r), meta());
      },
      PUT: async (req) => {
        req.authorizer().requireGlobal("acl", "write");
        const id = idOf(req, "role");
        const input = roleInput(req);
        if (input.ID !== undefined && input.ID !== "" && input.ID !== id)
          throw badRequest("Role ID in URL and payload do not match");
        return json(roleJson(catalog, await acl.upsertRole(input, id)));
      },
      DELETE: async (req) => {
        req.authorizer().requireGlobal("acl", "write");
        await acl.deleteRole(idOf(req, "role"));
        return json(true);
      },
    }),
    route("/v1/acl/roles", {
      GET: (req) => {
        req.authorizer().requireGlobal("acl", "read");
        const policy = req.param("policy");
        const list = acl
          .roles()
          .filter((r) => policy === undefined || r.value.Policies.includes(policy))
          .map((r) => roleJson(catalog, r));
        return json(list, meta());
      },
    }),
    route("/v1/agent/token/", {
      PUT: async (req) => {
        req.authorizer().require("agent", options.nodeName ?? "", "write");
        const body = asObject(req.json() ?? {}, "body");
        const token = body["Token"];
        if (typeof token !== "string") throw badRequest("Request decode failed: missing Token");
        const kind = AGENT_TOKEN_KINDS[req.rest];
        if (kind === undefined) throw new AugurError("NOT_FOUND", `Token "${req.rest}" is unknown`);
        await options.setAgentToken?.(kind, token);
        return empty();
      },
    }),
  ];
}

/** `/v1/agent/token/<name>`: today's names and the old ones Consul still takes. */
const AGENT_TOKEN_KINDS: Record<string, "default" | "agent"> = {
  default: "default",
  acl_token: "default",
  agent: "agent",
  acl_agent_token: "agent",
};

function accessorOf(req: ApiRequest): string {
  if (req.rest === "") throw badRequest("Missing token ID");
  return req.rest;
}

function idOf(req: ApiRequest, what: "policy" | "role"): string {
  if (req.rest === "") throw badRequest(`Missing ${what} ID`);
  return req.rest;
}

function body(req: ApiRequest): JsonObject {
  const value = req.json();
  if (value === undefined) return {};
  return asObject(value, "body");
}

function str(obj: JsonObject, name: string): string | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string")
    throw badRequest(`Request decode failed: ${name} must be a string, not ${jsonType(v)}`);
  return v;
}

function links(obj: JsonObject, name: string): LinkInput[] | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw badRequest(`Request decode failed: ${name} must be a list`);
  return v.map((item) => {
    const o = asObject(item, name);
    const link: LinkInput = {};
    const id = str(o, "ID");
    const n = str(o, "Name");
    if (id !== undefined) link.ID = id;
    if (n !== undefined) link.Name = n;
    return link;
  });
}

function tokenInput(req: ApiRequest): TokenInput & { AccessorID?: string } {
  const o = body(req);
  const input: TokenInput = {};
  for (const name of ["AccessorID", "SecretID", "Description"] as const) {
    const v = str(o, name);
    if (v !== undefined && v !== "") input[name] = v;
  }
  const policies = links(o, "Policies");
  if (policies) input.Policies = policies;
  const roles = links(o, "Roles");
  if (roles) input.Roles = roles;
  if (typeof o["Local"] === "boolean") input.Local = o["Local"];
  const ttl = o["ExpirationTTL"];
  // The Go client sends a time.Duration as nanoseconds; people send "1h".
  if (typeof ttl === "number") input.ExpirationTTL = `${ttl / 1e6}ms`;
  else if (typeof ttl === "string") input.ExpirationTTL = ttl;
  const exp = str(o, "ExpirationTime");
  if (exp !== undefined) input.ExpirationTime = exp;
  return input;
}

function policyInput(req: ApiRequest): PolicyInput & { ID?: string } {
  const o = body(req);
  const input: PolicyInput & { ID?: string } = {};
  for (const name of ["ID", "Name", "Description", "Rules"] as const) {
    const v = str(o, name);
    if (v !== undefined) input[name] = v;
  }
  const dcs = o["Datacenters"];
  if (Array.isArray(dcs)) input.Datacenters = dcs.filter((d): d is string => typeof d === "string");
  return input;
}

function roleInput(req: ApiRequest): RoleInput & { ID?: string } {
  const o = body(req);
  const input: RoleInput & { ID?: string } = {};
  for (const name of ["ID", "Name", "Description"] as const) {
    const v = str(o, name);
    if (v !== undefined) input[name] = v;
  }
  const policies = links(o, "Policies");
  if (policies) input.Policies = policies;
  return input;
}

/** Consul's ACLToken JSON, field for field; the secret is `<hidden>` without `acl = "write"`. */
function tokenJson(catalog: Catalog, s: Stored<AclTokenRecord>, showSecret: boolean): JsonObject {
  const t = s.value;
  const out: JsonObject = {
    AccessorID: t.AccessorID,
    SecretID: showSecret ? t.SecretID : "<hidden>",
    Description: t.Description,
  };
  const policies = catalog.acl.policyLinks(t.Policies);
  if (policies.length > 0) out["Policies"] = policies;
  const roles = catalog.acl.roleLinks(t.Roles);
  if (roles.length > 0) out["Roles"] = roles;
  out["Local"] = t.Local;
  if (t.ExpirationTime !== undefined) out["ExpirationTime"] = t.ExpirationTime;
  out["CreateTime"] = t.CreateTime;
  out["Hash"] = aclHash([t.Description, t.Policies, t.Roles, t.Local, t.ExpirationTime ?? ""]);
  out["CreateIndex"] = s.createRevision;
  out["ModifyIndex"] = s.modRevision;
  return out;
}

function policyJson(s: Stored<AclPolicyRecord>): JsonObject {
  const p = s.value;
  return {
    ID: p.ID,
    Name: p.Name,
    Description: p.Description,
    Rules: p.Rules,
    ...(p.Datacenters ? { Datacenters: p.Datacenters } : {}),
    Hash: aclHash([p.Name, p.Description, p.Rules, p.Datacenters ?? []]),
    CreateIndex: s.createRevision,
    ModifyIndex: s.modRevision,
  };
}

function policyStub(s: Stored<AclPolicyRecord>): JsonObject {
  const { Rules: _rules, ...stub } = policyJson(s);
  return stub;
}

function roleJson(catalog: Catalog, s: Stored<AclRoleRecord>): JsonObject {
  const r = s.value;
  const out: JsonObject = { ID: r.ID, Name: r.Name, Description: r.Description };
  const policies = catalog.acl.policyLinks(r.Policies);
  if (policies.length > 0) out["Policies"] = policies;
  out["Hash"] = aclHash([r.Name, r.Description, r.Policies]);
  out["CreateIndex"] = s.createRevision;
  out["ModifyIndex"] = s.modRevision;
  return out;
}
