/**
 * The host facts `GET /v1/agent/host` reports, in the shape Consul's agent/debug.HostInfo has
 * (gopsutil's field names: `Memory`, `CPU`, `Host`, `Disk`, `CollectionTime`, `Errors`). Read
 * from node's `os` module and, on Linux, /proc; a fact that cannot be read is left at zero and
 * its error listed, as Consul lists gopsutil's.
 *
 * @module
 */
import { readFile, statfs } from "node:fs/promises";
import os from "node:os";

export interface HostInfo {
  Memory: Record<string, number>;
  CPU: Record<string, string | number | string[]>[];
  Host: Record<string, string | number>;
  Disk: Record<string, string | number>;
  /** Unix time of the collection, in nanoseconds. */
  CollectionTime: number;
  Errors: string[] | null;
}

export async function collectHostInfo(dataDir: string | undefined): Promise<HostInfo> {
  const errors: string[] = [];
  const meminfo = await procFile("/proc/meminfo", errors);
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(meminfo);
    return m ? Number(m[1]) * 1024 : 0;
  };
  const total = os.totalmem();
  const available = kb("MemAvailable") || os.freemem();
  const used = total - available;
  const Memory = {
    total,
    available,
    used,
    usedPercent: total > 0 ? (used / total) * 100 : 0,
    free: os.freemem(),
    buffers: kb("Buffers"),
    cached: kb("Cached"),
    shared: kb("Shmem"),
    swapTotal: kb("SwapTotal"),
    swapFree: kb("SwapFree"),
  };
  const CPU = os.cpus().map((c, i) => ({
    cpu: i,
    vendorId: "",
    modelName: c.model,
    mhz: c.speed,
    cores: 1,
    flags: [] as string[],
  }));
  const osRelease = await procFile("/etc/os-release", errors);
  const field = (key: string): string =>
    new RegExp(`^${key}="?([^"\\n]*)"?$`, "m").exec(osRelease)?.[1] ?? "";
  const uptime = Math.floor(os.uptime());
  const Host = {
    hostname: os.hostname(),
    uptime,
    bootTime: Math.floor(Date.now() / 1000) - uptime,
    procs: 0,
    os: os.platform(),
    platform: field("ID"),
    platformFamily: field("ID_LIKE") || field("ID"),
    platformVersion: field("VERSION_ID"),
    kernelVersion: os.release(),
    kernelArch: os.machine(),
    virtualizationSystem: "",
    virtualizationRole: "",
    hostId: (await procFile("/etc/machine-id", errors)).trim(),
  };
  const path = dataDir ?? "/";
  let Disk: HostInfo["Disk"] = {
    path,
    fstype: "",
    total: 0,
    free: 0,
    used: 0,
    usedPercent: 0,
    inodesTotal: 0,
    inodesUsed: 0,
    inodesFree: 0,
    inodesUsedPercent: 0,
  };
  try {
    const s = await statfs(path);
    const totalBytes = s.blocks * s.bsize;
    const freeBytes = s.bavail * s.bsize;
    const usedBytes = (s.blocks - s.bfree) * s.bsize;
    const inodesUsed = s.files - s.ffree;
    Disk = {
      path,
      fstype: "",
      total: totalBytes,
      free: freeBytes,
      used: usedBytes,
      usedPercent: usedBytes + freeBytes > 0 ? (usedBytes / (usedBytes + freeBytes)) * 100 : 0,
      inodesTotal: s.files,
      inodesUsed,
      inodesFree: s.ffree,
      inodesUsedPercent: s.files > 0 ? (inodesUsed / s.files) * 100 : 0,
    };
  } catch (err) {
    errors.push(`disk ${path}: ${(err as Error).message}`);
  }
  return {
    Memory,
    CPU,
    Host,
    Disk,
    CollectionTime: Date.now() * 1_000_000,
    Errors: errors.length > 0 ? errors : null,
  };
}

async function procFile(path: string, errors: string[]): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    errors.push(`${path}: ${(err as Error).message}`);
    return "";
  }
}
