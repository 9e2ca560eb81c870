/**
 * Where the daemon lives on disk, and the checks that keep it user-only.
 *
 * One daemon per user (per machine): its folder holds the socket, a lock file with
 * its pid, and its log. The folder is `$SGT_DAEMON_DIR` when set (tests, unusual
 * setups), else `$XDG_RUNTIME_DIR/saliency-studio` (per-user tmpfs, cleaned at
 * logout), else `~/.sgt/daemon`. Anyone who can open the socket can make the daemon
 * run code (an engine) as this user, so the folder must be ours and closed to others.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface DaemonPaths {
  dir: string;
  socket: string;
  /** Holds the daemon's pid while it runs (lock.ts). */
  lock: string;
  /** The daemon's stdout and stderr (the client that starts it points them here). */
  log: string;
}

export function daemonPaths(env: NodeJS.ProcessEnv = process.env): DaemonPaths {
  const dir = daemonDir(env);
  return {
    dir,
    socket: path.join(dir, 'daemon.sock'),
    lock: path.join(dir, 'daemon.pid'),
    log: path.join(dir, 'daemon.log'),
  };
}

function daemonDir(env: NodeJS.ProcessEnv): string {
  if (env.SGT_DAEMON_DIR) return path.resolve(env.SGT_DAEMON_DIR);
  if (env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR)) return path.join(env.XDG_RUNTIME_DIR, 'saliency-studio');
  return path.join(os.homedir(), '.sgt', 'daemon');
}

/** Unix socket paths are limited by sun_path: 108 bytes on Linux, 104 on macOS, both counting a final NUL. */
const MAX_SOCKET_PATH = process.platform === 'darwin' ? 103 : 107;

/**
 * Creates the daemon folder (mode 0700) or checks an existing one: it must be a real
 * directory (not a link someone planted), owned by us; group/other permissions are
 * removed. Throws an Error with a message for people when it cannot be made safe.
 */
export function ensurePrivateDir(paths: DaemonPaths): void {
  const { dir } = paths;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`the daemon folder ${dir} is not a directory (a symbolic link?); remove it or set SGT_DAEMON_DIR`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(`the daemon folder ${dir} belongs to another user (uid ${st.uid}); refusing to use it — set SGT_DAEMON_DIR to a folder of yours`);
  }
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  if (Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH) {
    throw new Error(`the daemon socket path ${paths.socket} is too long for a Unix socket (${MAX_SOCKET_PATH} bytes at most); set SGT_DAEMON_DIR to a shorter folder`);
  }
}

/**
 * Before trusting whatever answers on the socket: the folder and the socket, when
 * they exist, must be ours (a socket planted by another user could pose as the
 * daemon). Throws like ensurePrivateDir; creates nothing.
 */
export function checkOwnership(paths: DaemonPaths): void {
  const uid = process.getuid?.();
  for (const file of [paths.dir, paths.socket]) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch {
      continue; // not there (yet): nothing to trust
    }
    if (file === paths.dir && !st.isDirectory()) throw new Error(`the daemon folder ${file} is not a directory (a symbolic link?); remove it or set SGT_DAEMON_DIR`);
    if (uid !== undefined && st.uid !== uid) {
      const what = file === paths.dir ? 'folder' : 'socket';
      throw new Error(`the daemon ${what} ${file} belongs to another user (uid ${st.uid}); refusing to use it — set SGT_DAEMON_DIR to a folder of yours`);
    }
  }
}
