/**
 * `augur snapshot save` and `augur snapshot restore` — Consul's command/snapshot/save and
 * restore: save writes `<file>.unverified`, checks it as a restore would, then renames it and
 * prints `Saved and verified snapshot to index N`; restore uploads the file and prints
 * `Restored snapshot`. The archive format: catalog/snapshot.ts. `inspect` is snapshot-inspect.ts.
 *
 * @module
 */
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { unpackArchive } from "../../catalog/snapshot-archive.js";
import { decodeState } from "../../catalog/snapshot-state.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

/** The one FILE argument every snapshot command takes, or the message Consul prints. */
export function fileArgument(ctx: CommandContext): string | { error: string } {
  if (ctx.args.length === 0) return { error: "Missing FILE argument" };
  if (ctx.args.length > 1)
    return { error: `Too many arguments (expected 1, got ${ctx.args.length})` };
  return ctx.args[0] as string;
}

async function save(ctx: CommandContext): Promise<number> {
  const file = fileArgument(ctx);
  if (typeof file !== "string") return ctx.fail(file.error);
  const client = await ctx.connect();
  if (!client) return 1;
  let saved;
  try {
    const dc = ctx.flags.string("datacenter");
    saved = await client.snapshotSave({
      stale: ctx.flags.bool("stale"),
      ...(dc ? { datacenter: dc } : {}),
    });
  } catch (err) {
    return ctx.fail(`Error saving snapshot: ${errorText(err)}`);
  }
  const unverified = `${file}.unverified`;
  try {
    await writeFile(unverified, saved.archive, { mode: 0o600 });
  } catch (err) {
    return ctx.fail(`Error writing unverified snapshot file: ${errorText(err)}`);
  }
  try {
    try {
      // Read back from disk, as Consul's snapshot.Verify does: what is checked is what was written.
      const { state } = await unpackArchive(await readFile(unverified));
      await decodeState(state);
    } catch (err) {
      return ctx.fail(`Error verifying snapshot file: ${errorText(err)}`);
    }
    try {
      await rename(unverified, file);
    } catch (err) {
      return ctx.fail(
        `Error renaming ${JSON.stringify(unverified)} to ${JSON.stringify(file)}: ${errorText(err)}`,
      );
    }
  } finally {
    await rm(unverified, { force: true });
  }
  ctx.ui.info(`Saved and verified snapshot to index ${saved.index}`);
  return 0;
}

async function restore(ctx: CommandContext): Promise<number> {
  const file = fileArgument(ctx);
  if (typeof file !== "string") return ctx.fail(file.error);
  const client = await ctx.connect();
  if (!client) return 1;
  let archive: Buffer;
  try {
    archive = await readFile(file);
  } catch (err) {
    return ctx.fail(`Error opening snapshot file: ${errorText(err)}`);
  }
  try {
    const dc = ctx.flags.string("datacenter");
    await client.snapshotRestore(archive, dc ? { datacenter: dc } : {});
  } catch (err) {
    return ctx.fail(`Error restoring snapshot: ${errorText(err)}`);
  }
  ctx.ui.info("Restored snapshot");
  return 0;
}

export const snapshotSaveCommand: CommandSpec = {
  name: "snapshot save",
  synopsis: "Saves snapshot of Consul server state",
  http: "server",
  flags: [],
  help: `
Usage: augur snapshot save [options] FILE

  Retrieves an atomic, point-in-time snapshot of the state of the cluster
  which includes key/value entries, service catalog, sessions and user events.

  To create a snapshot and save it to "backup.snap":

      $ augur snapshot save backup.snap

  To create a potentially stale snapshot:

      $ augur snapshot save -stale backup.snap
`,
  run: save,
};

export const snapshotRestoreCommand: CommandSpec = {
  name: "snapshot restore",
  synopsis: "Restores snapshot of Consul server state",
  http: "server",
  flags: [],
  help: `
Usage: augur snapshot restore [options] FILE

  Restores an atomic, point-in-time snapshot of the state of the cluster
  which includes key/value entries, service catalog, sessions and user events.
  Everything the snapshot does not hold is removed; cluster membership is kept.

  Only snapshots saved by augur can be restored: a Consul snapshot is refused,
  and nothing is changed.

  To restore a snapshot from the file "backup.snap":

      $ augur snapshot restore backup.snap
`,
  run: restore,
};
