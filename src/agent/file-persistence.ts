/**
 * {@link LocalStatePersistence} in the data dir, laid out as Consul lays it out:
 * `services/<hash>`, `checks/<hash>` and `checks/state/<hash>`, one JSON file per entry named
 * by the SHA-256 of its id. A write goes to a temporary file that is fsynced and renamed over the
 * old one, then the directory is fsynced, so a crash (even `kill -9`) leaves the old or the new
 * file, never a torn one. File-system errors become `STORE_IO` here.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { AugurError } from "../lib/errors.js";
import type {
  LocalStatePersistence,
  PersistedCheck,
  PersistedCheckState,
  PersistedLocalState,
  PersistedService,
} from "./persistence.js";

const TEMP_SUFFIX = ".tmp";

export class FileLocalStatePersistence implements LocalStatePersistence {
  readonly #dirs: { services: string; checks: string; states: string };
  /** Writes to one file run in order, so a save racing a removal cannot resurrect an entry. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(dataDir: string) {
    const checks = join(dataDir, "checks");
    this.#dirs = { services: join(dataDir, "services"), checks, states: join(checks, "state") };
  }

  async load(): Promise<PersistedLocalState> {
    try {
      for (const d of Object.values(this.#dirs)) await mkdir(d, { recursive: true });
      const services = await this.#readAll<PersistedService>(this.#dirs.services);
      const checks = await this.#readAll<PersistedCheck>(this.#dirs.checks);
      const states = await this.#readAll<PersistedCheckState>(this.#dirs.states);
      return { services, checks, states };
    } catch (err) {
      throw ioError("reading the agent's persisted services and checks", err);
    }
  }

  saveService(entry: PersistedService): Promise<void> {
    return this.#write(this.#dirs.services, entry.service.ID, entry);
  }

  removeService(id: string): Promise<void> {
    return this.#remove(this.#dirs.services, id);
  }

  saveCheck(entry: PersistedCheck): Promise<void> {
    return this.#write(this.#dirs.checks, entry.check.CheckID, entry);
  }

  removeCheck(id: string): Promise<void> {
    return this.#remove(this.#dirs.checks, id);
  }

  saveCheckState(state: PersistedCheckState): Promise<void> {
    return this.#write(this.#dirs.states, state.checkId, state);
  }

  removeCheckState(id: string): Promise<void> {
    return this.#remove(this.#dirs.states, id);
  }

  async #readAll<T>(dir: string): Promise<T[]> {
    const out: T[] = [];
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(dir, entry.name);
      // A temporary file is a write that never finished: the old file (if any) is the truth.
      if (entry.name.endsWith(TEMP_SUFFIX)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      out.push(JSON.parse(await readFile(path, "utf8")) as T);
    }
    return out;
  }

  #serial(path: string, work: () => Promise<void>): Promise<void> {
    const next = (this.#queues.get(path) ?? Promise.resolve()).then(work, work);
    this.#queues.set(path, next);
    const forget = (): void => {
      if (this.#queues.get(path) === next) this.#queues.delete(path);
    };
    next.then(forget, forget);
    return next;
  }

  #write(dir: string, id: string, value: unknown): Promise<void> {
    const path = join(dir, fileName(id));
    return this.#serial(path, async () => {
      const temp = `${path}.${randomBytes(4).toString("hex")}${TEMP_SUFFIX}`;
      try {
        await mkdir(dir, { recursive: true });
        const file = await open(temp, "w", 0o600);
        try {
          await file.writeFile(JSON.stringify(value));
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(temp, path);
        await syncDir(dir);
      } catch (err) {
        await unlink(temp).catch(() => undefined);
        throw ioError(`persisting ${JSON.stringify(id)}`, err);
      }
    });
  }

  #remove(dir: string, id: string): Promise<void> {
    const path = join(dir, fileName(id));
    return this.#serial(path, async () => {
      try {
        await unlink(path);
        await syncDir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw ioError(`removing the persisted ${JSON.stringify(id)}`, err);
      }
    });
  }
}

/** Ids may hold any character; the file name is a fixed-length hash of the id. */
function fileName(id: string): string {
  return createHash("sha256").update(id).digest("hex");
}

/** fsync a directory so a rename or unlink in it is durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function ioError(what: string, err: unknown): AugurError {
  const message = err instanceof Error ? err.message : String(err);
  return new AugurError("STORE_IO", `${what} in the data dir failed: ${message}`, { cause: err });
}
