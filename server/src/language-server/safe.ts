/**
 * Wraps request handlers so that no exception ever reaches the client: a bug in
 * one feature logs a stack trace and answers "nothing", the editor keeps working.
 * A `ResponseError` is a deliberate answer (e.g. "not a valid name" for rename)
 * and goes through.
 */
import { ResponseError, type Connection } from 'vscode-languageserver/node';

export function safely<P extends unknown[], R>(connection: Connection, feature: string, fallback: R, handler: (...args: P) => R): (...args: P) => R {
  return (...args: P): R => {
    try {
      return handler(...args);
    } catch (err) {
      if (err instanceof ResponseError) throw err;
      connection.console.error(`${feature} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return fallback;
    }
  };
}
