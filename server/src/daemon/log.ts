/**
 * The daemon's log: one timestamped line per entry on stdout, which the client that
 * started the daemon points at `daemon.log` next to the socket. Writing the log must
 * never take the daemon down (a full disk), so write errors are swallowed.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function createLogger(out: { write(s: string): unknown } = process.stdout): Logger {
  const write = (level: string, message: string): void => {
    try {
      out.write(`${new Date().toISOString()} ${level} ${message}\n`);
    } catch {
      // nowhere left to report it
    }
  };
  return {
    info: (m) => write('info ', m),
    warn: (m) => write('warn ', m),
    error: (m) => write('error', m),
  };
}

/** A logger that drops everything (tests, in-process use). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
