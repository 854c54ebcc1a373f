/**
 * What a failed lmdb commit (a full disk, an I/O error) leaves behind in lmdb-js 3.5, for the two
 * stores built on it (store/disk, watch/lmdb-store). Besides rejecting the promise of each write
 * in the commit, which its caller awaits, lmdb-js rejects two promises of its own: the commit
 * promise of its per-event-turn batch, and the one it hangs on the error as `commitError`
 * (rejected with the real cause, e.g. "No space left on device"). Nobody held either, and Node
 * ends the process on an unhandled rejection: a full disk killed the agent on its first failed
 * commit. Every write transaction calls {@link holdBatchCommit}, and every failure is read
 * through {@link lmdbFailureMessage}, which holds `commitError`.
 *
 * @module
 */

/** lmdb-js's text for every write of a commit that failed; the cause is in `commitError`. */
const COMMIT_FAILED = "Commit failed (see commitError for details)";

interface CommitFailure extends Error {
  readonly commitError: Promise<never>;
}

function isCommitFailure(reason: unknown): reason is CommitFailure {
  return (
    reason instanceof Error &&
    reason.message === COMMIT_FAILED &&
    (reason as Partial<CommitFailure>).commitError instanceof Promise
  );
}

/**
 * Inside a write transaction's callback: takes hold of the batch's commit promise (`committed` is
 * that promise while the batch is written), so its failure is not an unhandled rejection. The
 * failure itself reaches the transaction's caller.
 */
export function holdBatchCommit(env: { readonly committed: PromiseLike<unknown> }): void {
  void env.committed.then(undefined, () => undefined);
}

/**
 * The message of what made a write fail: for a failed lmdb commit, the cause it keeps in
 * `commitError` (settled before the write's own promise rejects) instead of its placeholder.
 */
export async function lmdbFailureMessage(err: unknown): Promise<string> {
  if (isCommitFailure(err)) {
    const cause: unknown = await Promise.race([
      err.commitError.catch((e: unknown) => e),
      // Not waited on past this turn, should a failure ever come without its cause.
      new Promise((resolve) => setImmediate(resolve)),
    ]);
    if (cause instanceof Error) return `commit failed: ${cause.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** For a failure handled synchronously: holds its `commitError`, if it has one. */
export function holdCommitError(err: unknown): void {
  if (isCommitFailure(err)) err.commitError.catch(() => undefined);
}
