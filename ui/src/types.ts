/** The Consul API shapes the UI reads (only the fields it shows). */
export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[] | null;
  Type: string;
  ModifyIndex: number;
}

export interface Node {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  Meta: Record<string, string> | null;
}

export interface NodeService {
  ID: string;
  Service: string;
  Tags: string[] | null;
  Address: string;
  Port: number;
}

export interface ServiceEntry {
  Node: Node;
  Service: NodeService;
  Checks: HealthCheck[];
}

export interface KVPair {
  Key: string;
  Value: string | null;
  Flags: number;
  Session?: string;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface Session {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: { ID: string }[] | null;
  CreateIndex: number;
}

export interface Member {
  Name: string;
  Addr: string;
  Port: number;
  Status: number;
  Tags: Record<string, string>;
}

export interface WatchHandler {
  Key: string;
  Kind: string;
  Target: string;
  State: string;
  Depth: number;
}

export interface Watch {
  ID: string;
  Type: string;
  State: string;
  Index: string | number | null;
  Failures: number;
  LastError: string;
  Events: number;
  Handlers: WatchHandler[];
}

export interface Delivery {
  ID: string;
  EventID: string;
  Watch: string;
  Handler: string;
  Status: string;
  Index: string;
  CreatedAt: string | null;
  Attempts: number;
  NextAttemptAt: string | null;
  FinishedAt: string | null;
  LastError: string;
  Replays: number;
  Body?: string;
}

export interface Deliveries {
  Store: string;
  Pending: Delivery[];
  Recent: Delivery[];
  Dead: Delivery[];
}
