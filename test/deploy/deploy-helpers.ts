/**
 * Small pieces the deploy tests share.
 *
 * @module
 */
import { access } from "node:fs/promises";

export const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** Whether a process with this pid still runs (signal 0 probes without sending). */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
