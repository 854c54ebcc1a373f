/**
 * The HTTPS listener's configuration: `ports.https`, `addresses.https`, `tls { defaults https }`
 * and the older top-level keys, with Consul's refusals worded as Consul's builder and tlsutil.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadWith } from "./config-helpers.js";

const load = loadWith;

const json = (value: unknown) => ({ name: "c.json", text: JSON.stringify(value) });

async function refused(value: unknown, message: string | RegExp, args = ["-dev"]) {
  await assert.rejects(load(args, json(value)), (err: Error & { code?: string }) => {
    assert.equal(err.code, "CONFIG_INVALID");
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe("config - TLS and the HTTPS listener", () => {
  it("https - off by default; no notice for tls keys any more", async () => {
    const { config, notices } = await load(["-dev"], json({ ca_file: "/x/ca.pem" }));
    assert.equal(config.https, undefined);
    assert.ok(!notices.some((n) => n.includes("ca_file")), notices.join(" | "));
  });

  it("HCL: tls.https overrides tls.defaults key by key; addresses.https; ports.http = -1 leaves HTTPS only", async () => {
    const { config } = await load(["-dev"], {
      name: "c.hcl",
      text: `
        ports { http = -1, https = 8501 }
        addresses { https = "127.0.0.1 ::1" }
        tls {
          defaults {
            ca_file = "/d/ca.pem"
            cert_file = "/d/cert.pem"
            key_file = "/d/key.pem"
            verify_incoming = false
            tls_min_version = "TLSv1_2"
            tls_cipher_suites = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
          }
          https {
            cert_file = "/h/cert.pem"
            key_file = "/h/key.pem"
            verify_incoming = true
          }
        }`,
    });
    assert.deepEqual(config.httpAddresses, []);
    assert.deepEqual(config.https, {
      addresses: [
        { host: "127.0.0.1", port: 8501 },
        { host: "::1", port: 8501 },
      ],
      tls: {
        caFile: "/d/ca.pem",
        certFile: "/h/cert.pem",
        keyFile: "/h/key.pem",
        verifyIncoming: true,
        minVersion: "TLSv1.2",
        ciphers:
          "ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
      },
    });
  });

  it("old top-level keys: ca_path, cert_file, key_file, verify_incoming_https, tls_min_version tls13; client_addr is the fallback address", async () => {
    const { config } = await load(
      ["-dev", "-https-port", "0"],
      json({
        client_addr: "127.0.0.2",
        ca_path: "/c/",
        cert_file: "/c/cert.pem",
        key_file: "/c/key.pem",
        verify_incoming_https: true,
        verify_outgoing: true,
        verify_server_hostname: true,
        tls_min_version: "tls13",
      }),
    );
    assert.deepEqual(config.https, {
      addresses: [{ host: "127.0.0.2", port: 0 }],
      tls: {
        caPath: "/c/",
        certFile: "/c/cert.pem",
        keyFile: "/c/key.pem",
        verifyIncoming: true,
        minVersion: "TLSv1.3",
      },
    });
  });

  it("the tls block wins over an old top-level key", async () => {
    const { config } = await load(
      ["-dev"],
      json({
        ports: { https: 8501 },
        cert_file: "/old/cert.pem",
        key_file: "/old/key.pem",
        tls: { defaults: { cert_file: "/new/cert.pem" } },
      }),
    );
    assert.equal(config.https?.tls.certFile, "/new/cert.pem");
    assert.equal(config.https?.tls.keyFile, "/old/key.pem");
  });

  it("verify_incoming without a CA or without a key pair is refused with HTTPS on, in tlsutil's words", async () => {
    await refused(
      {
        ports: { https: 8501 },
        tls: { defaults: { verify_incoming: true, cert_file: "c", key_file: "k" } },
      },
      "VerifyIncoming set but no CA certificates were provided",
    );
    await refused(
      { ports: { https: 8501 }, verify_incoming: true, ca_file: "ca.pem" },
      "VerifyIncoming requires either a Cert and Key pair in the configuration file, or auto_encrypt/auto_config be enabled",
    );
    // With HTTPS off nothing uses them: a Consul client agent's file (auto_encrypt) still starts.
    const { config } = await load(["-dev"], json({ verify_incoming: true, ca_file: "ca.pem" }));
    assert.equal(config.https, undefined);
  });

  it("ports.https without a certificate is refused", async () => {
    await refused(
      { ports: { https: 8501 } },
      "ports.https is set but no cert_file and key_file are configured for tls.https (or tls.defaults)",
    );
  });

  it("tls_min_version and tls_cipher_suites: unknown values refused as Consul's builder words them", async () => {
    await refused(
      { tls: { https: { tls_min_version: "ssl3" } } },
      "tls.https.tls_min_version: invalid TLS version: no matching TLS version found for ssl3, please specify one of [TLS_AUTO, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3]",
    );
    await refused(
      {
        tls: {
          defaults: {
            tls_cipher_suites:
              "TLS_RSA_WITH_RC4_128_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,BOGUS",
          },
        },
      },
      "tls.defaults.tls_cipher_suites: invalid TLS cipher suites: no matching Consul Agent TLS cipher suite found for TLS_RSA_WITH_RC4_128_SHA,BOGUS",
    );
    await refused(
      {
        tls: {
          https: {
            tls_min_version: "TLSv1_3",
            tls_cipher_suites: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          },
        },
      },
      "tls.https.tls_cipher_suites: TLS 1.3 cipher suites are not configurable",
    );
  });

  it("verify_server_hostname belongs to tls.internal_rpc; wrong types name the key", async () => {
    await refused(
      { tls: { defaults: { verify_server_hostname: true } } },
      "verify_server_hostname is only valid in the tls.internal_rpc stanza",
    );
    await refused(
      { tls: { https: { verify_incoming: "yes" } } },
      /tls\.https\.verify_incoming: expected a boolean, got string/,
    );
    await refused({ ports: { https: "8501" } }, /ports\.https: expected a number/);
  });

  it("inherited cipher suites are dropped when tls.https asks for TLS 1.3, as Consul drops them", async () => {
    const { config } = await load(
      ["-dev"],
      json({
        ports: { https: 8501 },
        tls: {
          defaults: {
            cert_file: "c",
            key_file: "k",
            tls_cipher_suites: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          },
          https: { tls_min_version: "TLSv1_3" },
        },
      }),
    );
    assert.equal(config.https?.tls.minVersion, "TLSv1.3");
    assert.equal(config.https?.tls.ciphers, undefined);
  });
});
