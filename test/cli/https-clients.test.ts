/**
 * A real `augur agent` child process serving HTTPS only (`-http-port -1`, `ports.https`) with
 * verify_incoming, and the clients a user would point at it: the `augur` CLI with its TLS flags
 * and with Consul's environment variables, `augur watch`, the npm `consul` package and Debian's
 * python3-consul. Certificates are made with openssl at test time.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import Consul from "consul";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { runAugur, spawnAugur } from "../helpers/augur-cli.js";
import { makeTlsMaterial, type TlsMaterial } from "../helpers/tls-material.js";
import { until } from "../helpers/until.js";

const run = promisify(execFile);

/** The CN of the certificate the agent presents on a new connection. */
async function presented(addr: string, m: TlsMaterial): Promise<string> {
  const [host, port] = addr.split(":");
  const options = {
    host,
    port: Number(port),
    ca: await readFile(m.ca.cert),
    cert: await readFile(m.client.cert),
    key: await readFile(m.client.key),
  };
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(options, () => {
      const cn = String(socket.getPeerCertificate().subject?.CN ?? "");
      socket.end();
      resolve(cn);
    });
    socket.on("error", reject);
  });
}

const PYTHON = `
import json, sys
import consul
port, ca, cert, key = sys.argv[1:5]
c = consul.Consul(host="127.0.0.1", port=int(port), scheme="https", verify=ca, cert=(cert, key))
c.kv.put("py/tls", "from-python")
index, data = c.kv.get("py/tls")
print(json.dumps({"value": data["Value"].decode(), "leader": c.status.leader()}))
`;

describe("HTTPS-only agent and its clients", () => {
  let m: TlsMaterial;
  let agent: AgentProcess;
  let addr: string;
  let tlsFlags: string[];
  before(async () => {
    m = await makeTlsMaterial();
    const config = join(m.dir, "agent.json");
    await writeFile(
      config,
      JSON.stringify({
        tls: {
          defaults: {
            ca_file: m.ca.cert,
            cert_file: m.server.cert,
            key_file: m.server.key,
            verify_incoming: true,
          },
        },
      }),
    );
    agent = await startAgentProcess({
      args: ["-dev", "-http-port", "-1", "-https-port", "0", "-config-file", config],
      listenLine: /HTTPS API listening on (\S+)/,
    });
    addr = agent.httpAddr;
    tlsFlags = ["-ca-file", m.ca.cert, "-client-cert", m.client.cert, "-client-key", m.client.key];
  });
  after(async () => {
    await agent.stop();
    await m.cleanup();
  });

  it("ports.http = -1 - the agent listens on HTTPS only", () => {
    assert.match(agent.output(), /HTTPS API listening on 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(agent.output(), /HTTP API listening/);
  });

  it("augur members - -http-addr https://... with -ca-file, -client-cert, -client-key", async () => {
    const ok = await runAugur(["members", "-http-addr", `https://${addr}`, ...tlsFlags], {});
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Node\s+Address\s+Status/);
    assert.match(ok.stdout, /\balive\b/);
    // Without a client certificate the agent refuses the connection.
    const refused = await runAugur(
      ["members", "-http-addr", `https://${addr}`, "-ca-file", m.ca.cert],
      {},
    );
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^Error retrieving members: Get "https:\/\/127\.0\.0\.1:\d+\/v1\/agent\/members/,
    );
    // Plain HTTP to the HTTPS port is no API either.
    const plain = await runAugur(["members", "-http-addr", `http://${addr}`], {});
    assert.equal(plain.code, 1);
  });

  it("augur kv - CONSUL_HTTP_ADDR, CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY", async () => {
    const env = {
      CONSUL_HTTP_ADDR: addr,
      CONSUL_HTTP_SSL: "true",
      CONSUL_CACERT: m.ca.cert,
      CONSUL_CLIENT_CERT: m.client.cert,
      CONSUL_CLIENT_KEY: m.client.key,
    };
    const put = await runAugur(["kv", "put", "cli/tls", "from-env"], env);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout, "Success! Data written to: cli/tls\n");
    const get = await runAugur(["kv", "get", "cli/tls"], env);
    assert.equal(get.stdout, "from-env\n");
    // CONSUL_HTTP_SSL_VERIFY=false: no CA needed (the client certificate still is).
    const insecure = await runAugur(["kv", "get", "cli/tls"], {
      ...env,
      CONSUL_CACERT: "",
      CONSUL_HTTP_SSL_VERIFY: "false",
    });
    assert.equal(insecure.stdout, "from-env\n", insecure.stderr);
    const untrusted = await runAugur(["kv", "get", "cli/tls"], { ...env, CONSUL_CACERT: "" });
    assert.equal(untrusted.code, 1);
  });

  it("augur watch -type key over HTTPS - the handler hears the current value, then a change", async () => {
    const out = join(m.dir, "watch-out.txt");
    await runAugur(
      ["kv", "put", "-http-addr", `https://${addr}`, ...tlsFlags, "watched/k", "one"],
      {},
    );
    const watch = spawnAugur(
      [
        "watch",
        "-type",
        "key",
        "-key",
        "watched/k",
        "-http-addr",
        `https://${addr}`,
        ...tlsFlags,
        "/bin/sh",
        "-c",
        `cat >> ${out}; echo >> ${out}`,
      ],
      {},
    );
    const seen = async (value: string): Promise<boolean> =>
      (await readFile(out, "utf8").catch(() => "")).includes(
        `"Value":"${Buffer.from(value).toString("base64")}"`,
      );
    try {
      await until(() => seen("one"), `the watch handler hearing "one"; stderr: ${watch.stderr()}`);
      await runAugur(
        ["kv", "put", "-http-addr", `https://${addr}`, ...tlsFlags, "watched/k", "two"],
        {},
      );
      await until(() => seen("two"), `the watch handler hearing "two"; stderr: ${watch.stderr()}`);
    } finally {
      watch.proc.kill("SIGTERM");
      await watch.done;
    }
  });

  it("npm consul - new Consul({ secure: true, ca, cert, key })", async () => {
    const [host, port] = addr.split(":");
    const consul = new Consul({
      host,
      port: Number(port),
      secure: true,
      ca: [await readFile(m.ca.cert)],
      cert: await readFile(m.client.cert),
      key: await readFile(m.client.key),
    } as ConstructorParameters<typeof Consul>[0]);
    try {
      await consul.kv.set("npm/tls", "from-npm");
      const got = (await consul.kv.get("npm/tls")) as { Value: string } | undefined;
      assert.equal(got?.Value, "from-npm");
      assert.equal(await consul.status.leader(), "127.0.0.1:8300");
    } finally {
      consul.destroy();
    }
  });

  it("python3-consul - Consul(scheme='https', verify=<CA>, cert=(cert, key))", async () => {
    const port = addr.split(":")[1] as string;
    const { stdout } = await run(
      "/usr/bin/python3",
      ["-c", PYTHON, port, m.ca.cert, m.client.cert, m.client.key],
      { env: { ...process.env, PYTHONPATH: "" }, timeout: 60_000 },
    ).catch((err: { stdout?: string; stderr?: string }) =>
      assert.fail(`python client failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`),
    );
    assert.deepEqual(JSON.parse(stdout), { value: "from-python", leader: "127.0.0.1:8300" });
  });

  // Last: it replaces the agent's certificate files.
  it("augur reload over HTTPS - the agent re-reads its config and rotated certificate files", async () => {
    assert.equal(await presented(addr, m), "server.dc1.consul");
    const next = await m.ca.issue("rotated", { cn: "rotated.dc1.consul" });
    await copyFile(next.cert, m.server.cert);
    await copyFile(next.key, m.server.key);
    const reload = await runAugur(["reload", "-http-addr", `https://${addr}`, ...tlsFlags], {});
    assert.equal(reload.code, 0, reload.stderr);
    assert.equal(reload.stdout, "Configuration reload triggered\n");
    assert.equal(await presented(addr, m), "rotated.dc1.consul");
  });
});
