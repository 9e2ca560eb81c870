/**
 * Mocha root hooks (loaded by .mocharc.json and the end-to-end command) that keep a test run
 * from hanging on something a test left behind, and say what it was.
 *
 * Why: mocha waits for Node's event loop to drain after the last test. A child process, server,
 * watcher or timer that a test forgot keeps it alive forever; CI then hits its wall-clock limit
 * with "N passing" as its last line and no clue. Mocha's `exit` option ends the process anyway;
 * this hook first names the leftovers (so a leak is seen and can be fixed) and kills the child
 * processes still running under this one, which `exit` would leave orphaned.
 */
import * as fs from 'node:fs';

/** Resource kinds that every mocha run holds: its own stdio and pending writes. */
const EXPECTED = new Set(['TTYWrap', 'PipeWrap', 'FSReqCallback', 'TickObject', 'Immediate']);

/** Process ids of every descendant of `pid`, found through /proc (Linux; nothing elsewhere). */
export function descendants(pid: number): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const e of entries) {
    try {
      // field 4 of /proc/PID/stat is the parent; the command name (field 2) may hold spaces, so parse after its ')'
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      /* the process ended while we looked */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 200);
  } catch {
    return '(gone)';
  }
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    // a child that is closing gets a moment to finish before it counts as left behind
    await new Promise((r) => setTimeout(r, 1000));
    const resources = process.getActiveResourcesInfo();
    // one Timeout is mocha's own timer for this hook
    const busy = resources.filter((r) => !EXPECTED.has(r) && r !== 'Timeout');
    const timers = resources.filter((r) => r === 'Timeout').length - 1;
    if (timers > 0) busy.push(`${timers} timer(s)`);
    // tsx's esbuild service lives as long as mocha does, by design
    const kids = descendants(process.pid).filter((pid) => !/esbuild.* --service=/.test(commandOf(pid)));
    if (busy.length === 0 && kids.length === 0) return;
    const lines = ['', 'leftovers: the tests left these behind (mocha exits anyway; fix the test that made them):'];
    if (busy.length) lines.push(`  active resources: ${busy.join(', ')}`);
    for (const pid of kids) lines.push(`  child process ${pid}: ${commandOf(pid)}`);
    console.warn(lines.join('\n'));
    for (const pid of kids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  },
};
