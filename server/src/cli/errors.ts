/**
 * The two ways `sgt` fails besides finding problems in `.sgt` files.
 *
 * Exit statuses are part of the CLI's contract (CI scripts branch on them):
 *   0  no errors found (warnings allowed)
 *   1  at least one error found in the checked files
 *   2  sgt could not do its job: bad usage, or an input it cannot read
 */
export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;

/** Bad usage or unreadable input. The message is shown to the user as is, one `sgt: ` line per line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A short, human explanation of a file-system error (`no such file or directory`), without a stack. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'ENAMETOOLONG':
      return 'file name too long';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
