/**
 * The daemon's settings, from its command line or, when a client starts it (which
 * passes its own environment), from environment variables:
 *
 *   --idle-timeout <s>   SGT_DAEMON_IDLE_TIMEOUT   exit after this long with no jobs and no clients (default 1800; 0: never)
 *   --concurrency <n>    SGT_DAEMON_CONCURRENCY    jobs that run at once (default 1: one GPU, one job)
 *   --cancel-grace <s>   SGT_DAEMON_CANCEL_GRACE   how long a cancelled engine may take to stop before SIGKILL (default 10)
 *
 * Seconds may be fractional (tests use short times).
 */
export interface DaemonConfig {
  idleTimeoutMs: number;
  concurrency: number;
  cancelGraceMs: number;
}

export const DEFAULT_CONFIG: DaemonConfig = { idleTimeoutMs: 30 * 60_000, concurrency: 1, cancelGraceMs: 10_000 };

interface Setting {
  flag: string;
  env: string;
  apply(c: DaemonConfig, text: string, source: string): void;
}

const SETTINGS: Setting[] = [
  { flag: '--idle-timeout', env: 'SGT_DAEMON_IDLE_TIMEOUT', apply: (c, t, s) => (c.idleTimeoutMs = seconds(t, s) * 1000) },
  { flag: '--concurrency', env: 'SGT_DAEMON_CONCURRENCY', apply: (c, t, s) => (c.concurrency = positiveInt(t, s)) },
  { flag: '--cancel-grace', env: 'SGT_DAEMON_CANCEL_GRACE', apply: (c, t, s) => (c.cancelGraceMs = seconds(t, s) * 1000) },
];

/** Reads the settings; flags win over the environment. Throws an Error naming the bad setting. */
export function daemonConfig(argv: readonly string[], env: NodeJS.ProcessEnv): DaemonConfig {
  const config = { ...DEFAULT_CONFIG };
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v !== undefined && v !== '') s.apply(config, v, s.env);
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const s = SETTINGS.find((x) => x.flag === flag);
    if (!s) throw new Error(`unknown argument ${argv[i]} (expected ${SETTINGS.map((x) => x.flag).join(', ')})`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    s.apply(config, value, flag);
  }
  return config;
}

function seconds(text: string, source: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || text.trim() === '') throw new Error(`${source} must be a number of seconds >= 0, not '${text}'`);
  return n;
}

function positiveInt(text: string, source: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${source} must be a whole number >= 1, not '${text}'`);
  return n;
}
