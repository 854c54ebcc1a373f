/**
 * Records for the filter tests, in the JSON shapes augur serves: tags and meta maps with and
 * without keys, empty and null lists, zero and non-zero numbers, bools, and strings that need
 * escapes (quotes, newlines, non-ASCII).
 */
import type { FilterTarget } from "../../src/api/filter/schema.js";

const nodes = [
  {
    ID: "a1",
    Node: "web-1",
    Address: "10.0.0.1",
    Datacenter: "dc1",
    TaggedAddresses: { lan: "10.0.0.1", wan: "1.2.3.4" },
    Meta: { env: "prod", rack: "r1", "": "empty-key", "a.b": "dot" },
  },
  {
    ID: "b2",
    Node: 'db "quoted"',
    Address: "",
    Datacenter: "dc1",
    TaggedAddresses: null,
    Meta: null,
  },
  {
    ID: "",
    Node: "é-node\n",
    Address: "10.0.0.3",
    Datacenter: "dc2",
    TaggedAddresses: {},
    Meta: { env: "", num: "17", in: "yes" },
  },
  { Node: "0x1F", Meta: { num: "0x1F", Env: "PROD" } },
  {},
];

const proxy = {
  DestinationServiceName: "web",
  DestinationServiceID: "web-1",
  LocalServiceAddress: "127.0.0.1",
  LocalServicePort: 8080,
  Mode: "transparent",
  Upstreams: [
    {
      DestinationType: "service",
      DestinationName: "db",
      LocalBindPort: 9000,
      MeshGateway: { Mode: "local" },
    },
    { DestinationName: "cache", LocalBindPort: 0 },
  ],
  MeshGateway: { Mode: "remote" },
  Expose: {
    Checks: true,
    Paths: [{ ListenerPort: 21500, Path: "/health", LocalPathPort: 8080, Protocol: "http" }],
  },
  TransparentProxy: { OutboundListenerPort: 15001, DialedDirectly: true },
};

const serviceNodes = [
  {
    ...nodes[0],
    NodeMeta: { env: "prod", rack: "r1" },
    ServiceKind: "",
    ServiceID: "web-1",
    ServiceName: "web",
    ServiceTags: ["v1", "primary", "", "a b", "in"],
    ServiceAddress: "10.0.0.1",
    ServiceTaggedAddresses: { lan: { Address: "10.0.0.1", Port: 8080 } },
    ServiceWeights: { Passing: 1, Warning: 1 },
    ServiceMeta: { env: "prod", num: "1" },
    ServicePort: 8080,
    ServiceSocketPath: "",
    ServiceEnableTagOverride: true,
    ServiceProxy: {},
    ServiceConnect: { Native: true },
  },
  {
    Node: "db-1",
    ServiceID: "db",
    ServiceName: "db",
    ServiceTags: [],
    ServiceMeta: null,
    ServicePort: 0,
    ServiceWeights: { Passing: 3, Warning: 0 },
    ServiceProxy: proxy,
    ServiceConnect: {},
  },
  {
    Node: "é-node\n",
    NodeMeta: { env: "" },
    ServiceKind: "connect-proxy",
    ServiceID: "web-sidecar",
    ServiceName: "web-sidecar-proxy",
    ServiceTags: null,
    ServicePort: -1,
    ServiceMeta: { "a.b": "x", env: "Prod" },
    ServiceProxy: proxy,
  },
  {
    Node: "x",
    ServiceName: 'quote"d',
    ServiceTags: ["0x10", "true", "1"],
    ServicePort: 65535,
    ServiceEnableTagOverride: false,
    ServiceTaggedAddresses: {},
  },
];

const nodeServices = [
  {
    ID: "web-1",
    Service: "web",
    Tags: ["v1", "primary"],
    Address: "10.0.0.1",
    TaggedAddresses: { wan: { Address: "1.2.3.4", Port: 443 } },
    Meta: { env: "prod" },
    Port: 8080,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: {},
    Connect: {},
  },
  {
    Kind: "connect-proxy",
    ID: "web-sidecar",
    Service: "web-sidecar-proxy",
    Tags: [],
    Meta: {},
    Port: 21000,
    Weights: { Passing: 1, Warning: 1 },
    Proxy: proxy,
    Connect: {},
  },
  {
    ID: "db",
    Service: "db",
    Tags: null,
    Meta: null,
    Weights: { Passing: 2, Warning: 0 },
    EnableTagOverride: true,
    Connect: { Native: true },
  },
  {
    ID: "é\t",
    Service: "\\back",
    Tags: ["", "é"],
    Meta: { env: "", "": "x" },
    Port: 1,
    Weights: { Passing: 1, Warning: 1 },
  },
];

// Appended, not inserted, so the indexes other tests name stay put.
nodes.push({
  Node: "😀",
  Address: "\u212a",
  Datacenter: "ſ",
  Meta: { env: "σς", rack: "Ω" },
} as (typeof nodes)[number]);

const checks = [
  {
    Node: "web-1",
    CheckID: "serfHealth",
    Name: "Serf Health Status",
    Status: "passing",
    Notes: "",
    Output: "Agent alive and reachable",
    ServiceID: "",
    ServiceName: "",
    ServiceTags: [],
    Type: "",
    ExposedPort: 0,
  },
  {
    Node: "web-1",
    CheckID: "service:web-1",
    Name: "Service 'web' check",
    Status: "critical",
    Output: "HTTP GET http://x: 500",
    ServiceID: "web-1",
    ServiceName: "web",
    ServiceTags: ["v1", "primary"],
    Type: "http",
    ExposedPort: 21500,
  },
  {
    Node: "db-1",
    CheckID: "ttl",
    Name: "ttl",
    Status: "warning",
    Notes: 'say "hi"\n',
    ServiceID: "db",
    ServiceName: "db",
    ServiceTags: null,
    Type: "ttl",
  },
  {
    Node: "é-node\n",
    CheckID: "_node_maintenance",
    Name: "Node Maintenance Mode",
    Status: "critical",
    Notes: "",
    Type: "maintenance",
    ExposedPort: -5,
  },
];

const serviceHealth = [
  { Node: nodes[0], Service: nodeServices[0], Checks: [checks[0], checks[1]] },
  { Node: nodes[1], Service: nodeServices[1], Checks: [] },
  { Node: nodes[2], Service: nodeServices[2], Checks: null },
  { Node: nodes[3], Service: nodeServices[3], Checks: [checks[2], checks[3], checks[0]] },
];

// Agent services carry Proxy/Connect only when set, as Consul's agent endpoint does; a nil
// Proxy makes go-bexpr 0.1.2 panic on selectors through it, so most items here have one.
const agentServices = [
  {
    ID: "web-1",
    Service: "web",
    Tags: ["v1"],
    Meta: { env: "prod" },
    Port: 8080,
    Address: "10.0.0.1",
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: { DestinationServiceName: "" },
    Connect: { Native: false },
  },
  {
    Kind: "connect-proxy",
    ID: "web-sidecar",
    Service: "web-sidecar-proxy",
    Tags: [],
    Meta: {},
    Port: 21000,
    Weights: { Passing: 1, Warning: 1 },
    Proxy: proxy,
    Connect: { Native: false },
  },
  {
    ID: "db",
    Service: "db",
    Tags: ["", "é"],
    Meta: { "a.b": "1" },
    Port: 0,
    Weights: { Passing: 5, Warning: 2 },
    EnableTagOverride: true,
    TaggedAddresses: { lan_ipv4: { Address: "10.0.0.2", Port: 5432 } },
    Proxy: { Upstreams: [] },
    Connect: { Native: true },
  },
  { ID: "plain", Service: "plain", Tags: null, Meta: null, Weights: { Passing: 1, Warning: 1 } },
];

export const CATALOG: Readonly<Record<FilterTarget, readonly unknown[]>> = {
  Node: nodes,
  ServiceNode: serviceNodes,
  NodeService: nodeServices,
  HealthCheck: checks,
  ServiceHealth: serviceHealth,
  AgentService: agentServices,
};
