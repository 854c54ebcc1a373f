/**
 * `augur lock` as real child processes against a real `augur agent -dev`, each child a real
 * `sh -c` script that logs to a file: mutual exclusion, `-timeout`, the `-n` semaphore, the
 * child stopped when the lock is lost or augur is signalled, exit codes, and the stored keys
 * carrying Consul's magic flags so a Consul client reads them as its own lock or semaphore.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { runAugur, spawnAugur, type AugurProcess } from "../helpers/augur-cli.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { until } from "../helpers/until.js";
import { sessionIds } from "../helpers/session-locks.js";
import { ConsulClient } from "../../src/client/index.js";
import { LOCK_FLAG_VALUE } from "../../src/client/lock.js";
import { SEMAPHORE_FLAG_VALUE } from "../../src/client/semaphore.js";
import type { Session } from "../../src/catalog/types.js";

void describe("augur lock", () => {
  let agent: AgentProcess;
  let dir: string;
  let client: ConsulClient;
  let env: NodeJS.ProcessEnv;
  const running: AugurProcess[] = [];

  /** Starts `augur lock <args...>`; killed at the end if a test left it running. */
  const lock = (args: string[], input?: string): AugurProcess => {
    const p = spawnAugur(["lock", ...args], env, input);
    running.push(p);
    return p;
  };
  const log = async (name: string): Promise<string[]> => {
    const file = join(dir, name);
    return existsSync(file) ? (await readFile(file, "utf8")).split("\n").filter(Boolean) : [];
  };
  /** A child that logs `<tag> start`, holds until `<dir>/<tag>.go` exists, then logs `<tag> end`. */
  const holder = (logName: string, tag: string): string =>
    `echo '${tag} start' >> ${join(dir, logName)}; ` +
    `while [ ! -f ${join(dir, `${tag}.go`)} ]; do sleep 0.02; done; ` +
    `echo '${tag} end' >> ${join(dir, logName)}`;
  /** A child that logs `TERM` when terminated, and otherwise runs until killed. */
  const trapper = (
    logName: string,
    onTerm = `echo TERM >> ${join(dir, logName)}; exit 0`,
  ): string =>
    `trap '${onTerm}' TERM; echo start >> ${join(dir, logName)}; while :; do sleep 0.02; done`;
  const release = (tag: string): Promise<void> => writeFile(join(dir, `${tag}.go`), "");
  const holderOf = async (key: string): Promise<string | undefined> =>
    (await client.kvGet(key))?.Session;

  before(async () => {
    agent = await startAgentProcess();
    dir = await mkdtemp(join(tmpdir(), "augur-lock-"));
    env = { CONSUL_HTTP_ADDR: agent.httpAddr };
    client = new ConsulClient({ address: agent.httpAddr, env: {} });
  });
  after(async () => {
    for (const p of running) if (p.proc.exitCode === null) p.proc.kill("SIGKILL");
    await Promise.all(running.map((p) => p.done));
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void test("-n 1 - a second contender waits until the first child ends; the key is Consul's lock", async () => {
    const a = lock(["-verbose", "mutex", holder("mutex.log", "A")]);
    await until(async () => (await log("mutex.log")).includes("A start"), "A to hold the lock");
    const lockPair = await client.kvGet("mutex/.lock");
    assert.equal(lockPair?.Flags, LOCK_FLAG_VALUE);
    assert.ok(lockPair?.Session);
    const info = (await (
      await fetch(`${agent.url}/v1/session/info/${lockPair.Session}`)
    ).json()) as Session[];
    assert.equal(info[0]?.Name, `Consul lock for '${holder("mutex.log", "A")}' at 'mutex'`);
    assert.equal(info[0]?.TTL, "15s");
    assert.equal(info[0]?.Behavior, "release");
    assert.equal(info[0]?.LockDelay, 15e9);

    const b = lock(["-verbose", "mutex", `echo 'B start' >> ${join(dir, "mutex.log")}`]);
    // B is waiting once its own session exists while A still holds the key.
    await until(async () => (await sessionIds(agent.url)).size === 2, "B's session");
    assert.equal(await holderOf("mutex/.lock"), lockPair.Session);
    assert.deepEqual(await log("mutex.log"), ["A start"]);

    await release("A");
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.deepEqual(await log("mutex.log"), ["A start", "A end", "B start"]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(
      ra.stdout,
      "Setting up lock at path: mutex/.lock\nAttempting lock acquisition\nStarting handler\n" +
        "Child terminated, releasing lock\nCleanup aborted, lock in use\n",
    );
    assert.match(rb.stdout, /Child terminated, releasing lock\nCleanup succeeded\n$/);
    // Released, sessions destroyed, and the last one out removed the key.
    assert.equal(await client.kvGet("mutex/.lock"), undefined);
    assert.equal((await sessionIds(agent.url)).size, 0);
  });

  void test("-timeout - gives up waiting, exit 1, and destroys its session", async () => {
    const a = lock(["tmo", holder("tmo.log", "T")]);
    await until(async () => (await log("tmo.log")).includes("T start"), "the holder");
    const b = await runAugur(
      ["lock", "-timeout=300ms", "tmo", `echo never >> ${join(dir, "tmo.log")}`],
      env,
    );
    assert.deepEqual(
      { code: b.code, stdout: b.stdout, stderr: b.stderr },
      { code: 1, stdout: "", stderr: "Shutdown triggered or timeout during lock acquisition\n" },
    );
    assert.equal((await sessionIds(agent.url)).size, 1);
    await release("T");
    assert.equal((await a.done).code, 0);
    assert.deepEqual(await log("tmo.log"), ["T start", "T end"]);
  });

  void test("-n 2 - two holders at once, the third waits for a slot; .lock is Consul's semaphore", async () => {
    const procs = ["S1", "S2", "S3"].map((tag) => lock(["-n", "2", "sem", holder("sem.log", tag)]));
    await until(async () => (await log("sem.log")).length === 2, "two holders");
    // The third has made its contender key and is waiting for a slot.
    await until(
      async () => (await client.kvList("sem/")).length === 4,
      "three contender keys and .lock",
    );
    const started = await log("sem.log");
    assert.equal(started.length, 2);
    const pairs = await client.kvList("sem/");
    const lockPair = pairs.find((p) => p.Key === "sem/.lock");
    assert.equal(lockPair?.Flags, SEMAPHORE_FLAG_VALUE);
    const value = JSON.parse(Buffer.from(lockPair?.Value ?? "", "base64").toString()) as {
      Limit: number;
      Holders: Record<string, boolean>;
    };
    assert.equal(value.Limit, 2);
    assert.equal(Object.keys(value.Holders).length, 2);
    for (const p of pairs.filter((p) => p.Key !== "sem/.lock")) {
      assert.equal(p.Flags, SEMAPHORE_FLAG_VALUE);
      assert.equal(p.Key, `sem/${p.Session}`);
    }

    // A lock on the same prefix sees a semaphore's key and refuses, as Consul's does.
    const conflict = await runAugur(["lock", "sem", "true"], env);
    assert.equal(conflict.code, 1);
    assert.equal(
      conflict.stderr,
      "Lock acquisition failed: Existing key does not match lock use\n",
    );

    const first = (started[0] as string).split(" ")[0] as string;
    await release(first);
    await until(async () => (await log("sem.log")).length === 4, "the third to get the slot");
    const tags = (await log("sem.log")).map((l) => l.split(" ")[0]);
    assert.equal(new Set(tags).size, 3);
    await Promise.all(["S1", "S2", "S3"].map(release));
    for (const p of procs) assert.equal((await p.done).code, 0);
    assert.deepEqual(await client.kvList("sem/"), []);
  });

  void test("lock lost - the session destroyed from outside: child terminated, exit 1", async () => {
    const a = lock(["-verbose", "lost", trapper("lost.log")]);
    await until(async () => (await log("lost.log")).includes("start"), "the child");
    const session = await holderOf("lost/.lock");
    assert.ok(session);
    await client.sessionDestroy(session);
    const r = await a.done;
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(await log("lost.log"), ["start", "TERM"]);
    assert.match(
      r.stdout,
      /Lock lost, killing child\nTerminating child pid \d+\nChild terminated\n/,
    );
  });

  void test("lock lost - a child ignoring SIGTERM is killed after the 5 s grace", async () => {
    const a = lock([
      "-verbose",
      "stubborn",
      trapper("stubborn.log", "echo TERM >> " + join(dir, "stubborn.log")),
    ]);
    await until(async () => (await log("stubborn.log")).includes("start"), "the child");
    await client.sessionDestroy((await holderOf("stubborn/.lock")) ?? "");
    const r = await a.done;
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Child did not exit after grace period of 5s\nKilling child pid \d+\n/);
    assert.match(r.stderr, /Error running handler: signal: killed\n/);
  });

  void test("-monitor-retry=0 - the agent unreachable while monitoring is a lost lock", async () => {
    const [host, port] = agent.httpAddr.split(":");
    const proxy = await startTcpProxy({ host: host ?? "", port: Number(port) });
    try {
      const a = spawnAugur(["lock", "-verbose", "-monitor-retry=0", "cut", trapper("cut.log")], {
        CONSUL_HTTP_ADDR: proxy.url,
      });
      running.push(a);
      await until(async () => (await log("cut.log")).includes("start"), "the child");
      proxy.partition();
      const r = await a.done;
      assert.equal(r.code, 1);
      assert.deepEqual(await log("cut.log"), ["start", "TERM"]);
      assert.match(r.stdout, /Lock lost, killing child\n/);
      // The release cannot reach the agent either; the session is left to its TTL, as Consul's.
      assert.match(r.stderr, /^Lock release failed: failed to release lock: Put "http:\/\/127/m);
      // Leave no session behind for the tests after this one.
      await client.sessionDestroy((await holderOf("cut/.lock")) ?? "");
    } finally {
      await proxy.close();
    }
  });

  void test("SIGTERM to augur - the child is stopped, the lock released and removed, exit 0", async () => {
    const a = lock(["sig", trapper("sig.log")]);
    await until(async () => (await log("sig.log")).includes("start"), "the child");
    assert.ok(await holderOf("sig/.lock"));
    a.proc.kill("SIGTERM");
    const r = await a.done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await log("sig.log")).includes("TERM"));
    assert.equal(await client.kvGet("sig/.lock"), undefined);
    assert.equal((await sessionIds(agent.url)).size, 0);
  });

  void test("-child-exit-code - 2 when the child fails; 0 without it", async () => {
    const withFlag = await runAugur(["lock", "-child-exit-code", "code", "exit 3"], env);
    assert.deepEqual(
      { code: withFlag.code, stderr: withFlag.stderr },
      { code: 2, stderr: "Error running handler: exit status 3\n" },
    );
    assert.equal((await runAugur(["lock", "code", "exit 3"], env)).code, 0);
    assert.equal((await runAugur(["lock", "-child-exit-code", "code", "exit 0"], env)).code, 0);
    const missing = await runAugur(
      ["lock", "-shell=false", "-child-exit-code", "code", "no-such-command-xyz"],
      env,
    );
    assert.equal(missing.code, 2);
    assert.equal(
      missing.stderr,
      'Error starting handler: exec: "no-such-command-xyz": executable file not found in $PATH\n',
    );
  });

  void test("the child - CONSUL_LOCK_HELD set, stdin only with -pass-stdin, -shell=false runs words", async () => {
    const held = await runAugur(["lock", "env", "echo $CONSUL_LOCK_HELD"], env);
    assert.equal(held.stdout, "true\n");
    assert.equal(
      (await runAugur(["lock", "-pass-stdin", "in", "cat"], env, "hello")).stdout,
      "hello",
    );
    assert.equal((await runAugur(["lock", "in", "cat"], env, "hello")).stdout, "");
    const words = await runAugur(["lock", "-shell=false", "w", "echo", "$HOME", "-n"], env);
    assert.equal(words.stdout, "$HOME -n\n");
  });

  void test("bad arguments - Consul's texts, exit 1, nothing locked", async () => {
    const cases: [string[], RegExp][] = [
      [["lock", "only-prefix"], /^Key prefix and child command must be specified\n$/],
      [["lock", "-n", "0", "p", "true"], /^Lock holder limit must be positive\n$/],
      [["lock", "-timeout=-1s", "p", "true"], /^Timeout must be positive\n$/],
      [
        ["lock", "-timeout=soon", "p", "true"],
        /^invalid value "soon" for flag -timeout: parse error\n\nUsage: augur lock/,
      ],
      [["lock", "-monitor-retry=-1", "p", "true"], /^Number for 'monitor-retry' must be >= 0\n$/],
      [["lock", "-n", "2", "/", "true"], /^Lock setup failed: missing prefix\n$/],
    ];
    for (const [args, stderr] of cases) {
      const r = await runAugur(args, env);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, stderr, args.join(" "));
    }
    // -datacenter goes on every request, the session's create included.
    const elsewhere = await runAugur(["lock", "-datacenter=nope", "p", "true"], env);
    assert.equal(elsewhere.code, 1);
    assert.equal(
      elsewhere.stderr,
      "Lock acquisition failed: failed to create session: Unexpected response code: 500 (No path to datacenter)\n",
    );
    const unreachable = await runAugur(["lock", "-http-addr=127.0.0.1:1", "p", "true"], env);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /^Error querying Consul agent: /);
  });
});
