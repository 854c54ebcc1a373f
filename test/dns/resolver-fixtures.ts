/**
 * Shared by the real-resolver tests (dnsmasq, HAProxy): a real `augur agent -dev` child process
 * with its DNS interface on a random port, and the HTTP calls that register services and move
 * their checks.
 *
 * @module
 */
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { until } from "../helpers/until.js";

export interface DnsAgent {
  readonly agent: AgentProcess;
  /** The agent's DNS port on 127.0.0.1 (UDP and TCP). */
  readonly dnsPort: number;
  /** The agent's node name, as `<node>.node.consul` names it. */
  readonly nodeName: string;
  /** A request to the agent's HTTP API that must succeed; its body as text. */
  call(method: string, path: string, body?: object): Promise<string>;
}

/**
 * `augur agent -dev -dns-port 0 <args>`, and the port it printed in its `DNS listening on` line.
 */
export async function startDnsAgent(args: readonly string[] = []): Promise<DnsAgent> {
  const agent = await startAgentProcess({ args: ["-dev", "-dns-port", "0", ...args] });
  const listening = /DNS listening on [^\n]*?127\.0\.0\.1:(\d+)/;
  await until(() => listening.test(agent.output()), "the agent's DNS listen line").catch(
    async (err: unknown) => {
      await agent.stop();
      throw new Error(`${String(err)}; output:\n${agent.output()}`);
    },
  );
  const dnsPort = Number(listening.exec(agent.output())?.[1]);
  const call = async (method: string, path: string, body?: object): Promise<string> => {
    const res = await fetch(`${agent.url}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text;
  };
  const self = JSON.parse(await call("GET", "/v1/agent/self")) as {
    Config: { NodeName: string };
  };
  return { agent, dnsPort, nodeName: self.Config.NodeName, call };
}
