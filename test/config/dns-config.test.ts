/** DNS settings from config files and flags: Consul's keys and defaults, notices, bad values. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadWith } from "./config-helpers.js";

const load = loadWith;

describe("config - DNS", () => {
  it("defaults: 127.0.0.1:8600 in -dev too, domain consul., Consul's dns_config defaults", async () => {
    const { config } = await load(["-dev"]);
    assert.deepEqual(config.dns.addresses, [{ host: "127.0.0.1", port: 8600 }]);
    assert.equal(config.dns.domain, "consul.");
    assert.equal(config.dns.altDomain, undefined);
    assert.deepEqual(config.dns.recursors, []);
    assert.equal(config.dns.allowStale, true);
    assert.equal(config.dns.udpAnswerLimit, 3);
    assert.equal(config.dns.aRecordLimit, 0);
    assert.equal(config.dns.enableTruncate, false);
    assert.equal(config.dns.onlyPassing, false);
    assert.equal(config.dns.nodeTtlSeconds, 0);
    assert.equal(config.dns.recursorTimeoutMs, 2000);
  });

  it("HCL: ports.dns, addresses.dns, domain, alt_domain, recursors and the dns_config block", async () => {
    const { config, notices } = await load(["-dev", "-recursor", "[::1]:5353"], {
      name: "dns.hcl",
      text: `ports { dns = 8653 }
addresses { dns = "127.0.0.1 ::1" }
domain = "Example."
alt_domain = "alt.test"
recursors = ["192.0.2.1", "192.0.2.2:54"]
dns_config {
  allow_stale = false
  max_stale = "5s"
  node_ttl = "10s"
  service_ttl { "*" = "5s", web = "30s" }
  udp_answer_limit = 5
  a_record_limit = 2
  enable_truncate = true
  only_passing = true
  recursor_timeout = "500ms"
  use_cache = true
}
`,
    });
    assert.deepEqual(config.dns.addresses, [
      { host: "127.0.0.1", port: 8653 },
      { host: "::1", port: 8653 },
    ]);
    assert.equal(config.dns.domain, "example.");
    assert.equal(config.dns.altDomain, "alt.test.");
    assert.deepEqual(config.dns.recursors, [
      { host: "192.0.2.1", port: 53 },
      { host: "192.0.2.2", port: 54 },
      { host: "::1", port: 5353 },
    ]);
    assert.equal(config.dns.allowStale, false);
    assert.equal(config.dns.maxStaleMs, 5000);
    assert.equal(config.dns.nodeTtlSeconds, 10);
    assert.deepEqual(config.dns.serviceTtlSeconds, { "*": 5, web: 30 });
    assert.equal(config.dns.udpAnswerLimit, 5);
    assert.equal(config.dns.aRecordLimit, 2);
    assert.equal(config.dns.enableTruncate, true);
    assert.equal(config.dns.onlyPassing, true);
    assert.equal(config.dns.recursorTimeoutMs, 500);
    assert.ok(
      notices.some((n) => n.includes('"dns_config.use_cache"')),
      notices.join(" | "),
    );
    assert.ok(!notices.some((n) => /"(domain|recursors|alt_domain|dns_config)"/.test(n)));
  });

  it("flags: -dns-port, -domain and -client; -dns-port -1 disables DNS", async () => {
    const { config } = await load([
      "-dev",
      "-dns-port",
      "0",
      "-domain",
      "corp",
      "-client",
      "0.0.0.0",
    ]);
    assert.deepEqual(config.dns.addresses, [{ host: "0.0.0.0", port: 0 }]);
    assert.equal(config.dns.domain, "corp.");
    assert.deepEqual((await load(["-dev", "-dns-port=-1"])).config.dns.addresses, []);
  });

  it("addresses.<listener> wins over client_addr from any source, -client included (Consul's makeAddrs)", async () => {
    const file = {
      name: "a.json",
      text: JSON.stringify({
        client_addr: "0.0.0.0",
        addresses: { http: "127.0.0.2", https: "127.0.0.3", dns: "127.0.0.4" },
        ports: { https: 8501 },
        tls: { defaults: { cert_file: "/x/cert.pem", key_file: "/x/key.pem" } },
      }),
    };
    for (const args of [["-dev"], ["-dev", "-client", "0.0.0.0"]]) {
      const { config } = await load(args, file);
      assert.deepEqual(config.httpAddresses, [{ host: "127.0.0.2", port: 8500 }], args.join(" "));
      assert.deepEqual(config.https?.addresses, [{ host: "127.0.0.3", port: 8501 }]);
      assert.deepEqual(config.dns.addresses, [{ host: "127.0.0.4", port: 8600 }]);
    }
    // Without them, -client is the address of every listener (over client_addr in the file).
    const bare = { name: "b.json", text: JSON.stringify({ client_addr: "127.0.0.9" }) };
    const { config } = await load(["-dev", "-client", "127.0.0.5"], bare);
    assert.deepEqual(config.httpAddresses, [{ host: "127.0.0.5", port: 8500 }]);
    assert.deepEqual(config.dns.addresses, [{ host: "127.0.0.5", port: 8600 }]);
  });

  it("bad values fail with the key and the expectation", async () => {
    await assert.rejects(
      load(["-dev"], { name: "a.json", text: JSON.stringify({ dns_config: { node_ttl: 5 } }) }),
      /dns_config\.node_ttl: expected a duration/,
    );
    await assert.rejects(
      load(["-dev"], {
        name: "b.json",
        text: JSON.stringify({ dns_config: { udp_answer_limit: -1 } }),
      }),
      /dns_config\.udp_answer_limit: expected a non-negative integer/,
    );
    await assert.rejects(
      load(["-dev"], { name: "c.json", text: JSON.stringify({ ports: { dns: "53" } }) }),
      /ports\.dns: expected a number/,
    );
    await assert.rejects(load(["-dev", "-recursor", "not an address"]), /Invalid recursor address/);
    await assert.rejects(
      load(["-dev", "-dns-port", "70000"]),
      /invalid value "70000" for flag -dns-port/,
    );
  });
});
