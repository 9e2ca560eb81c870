/**
 * One daemon per daemon folder: a lock file holding the pid of the daemon that owns
 * the folder. It is created complete in one step (written to a temporary file, then
 * hard-linked into place, which fails if the lock exists), so a second daemon never
 * reads a half-written pid. A lock whose process is gone, or whose pid now belongs
 * to some other program, is stale and replaced.
 */
import * as fs from 'node:fs';

export type LockResult = { acquired: true; release(): void } | { acquired: false; holder: number };

export function acquireLock(file: string): LockResult {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(tmp, file);
        return { acquired: true, release: () => releaseLock(file) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readLockPid(file);
      if (holder !== undefined && holder !== process.pid && isDaemonProcess(holder)) return { acquired: false, holder };
      fs.rmSync(file, { force: true });
    }
    throw new Error(`cannot take the daemon lock ${file}: it keeps reappearing`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Removes the lock if it is still ours (never another daemon's). */
function releaseLock(file: string): void {
  if (readLockPid(file) === process.pid) fs.rmSync(file, { force: true });
}

export function readLockPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is alive and (where the OS tells) still a daemon, not a new process that reused the pid. */
export function isDaemonProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon');
  } catch {
    return true; // no /proc (macOS): trust the pid
  }
}
