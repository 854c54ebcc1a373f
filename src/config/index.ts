/**
 * Configuration: Consul-compatible files and flags into one frozen {@link RuntimeConfig}.
 *
 * @module
 */
export {
  loadConfig,
  type RuntimeConfig,
  type LoadedConfig,
  type EtcdConfig,
  type HttpLimitsConfig,
  type LogLevel,
} from "./load.js";
export { parseAgentFlags, agentFlagsFrom, AGENT_FLAGS, type AgentFlags } from "./flags.js";
export { decodeCheckDefinition, decodeServiceDefinition } from "./definitions.js";
