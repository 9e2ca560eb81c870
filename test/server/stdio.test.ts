/**
 * The installed entry point: `sgt-language-server --stdio` (the bin launcher
 * running the esbuild bundle) answers `initialize` over stdio and exits cleanly
 * on `shutdown` + `exit`.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, 'server', 'bin', 'sgt-language-server.js');

function frame(message: object): string {
  const body = JSON.stringify({ jsonrpc: '2.0', ...message });
  return `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
}

/** Reads Content-Length framed messages from a stream. */
class FrameReader {
  private buffer = Buffer.alloc(0);
  private readonly waiting: ((m: { id?: number; result?: unknown; method?: string }) => void)[] = [];
  private readonly queue: { id?: number; result?: unknown; method?: string }[] = [];

  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const headerEnd = this.buffer.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'))?.[1]);
        if (this.buffer.length < headerEnd + 4 + length) return;
        const message = JSON.parse(this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8'));
        this.buffer = this.buffer.subarray(headerEnd + 4 + length);
        const w = this.waiting.shift();
        if (w) w(message);
        else this.queue.push(message);
      }
    });
  }

  /** The next message that answers request `id` (notifications such as log messages are skipped). */
  async response(id: number): Promise<{ id?: number; result?: unknown }> {
    for (;;) {
      const m = this.queue.shift() ?? (await new Promise<{ id?: number; result?: unknown; method?: string }>((r) => this.waiting.push(r)));
      if (m.id === id && m.method === undefined) return m;
    }
  }
}

describe('sgt-language-server --stdio', () => {
  it('answers initialize, then shuts down and exits with 0', async function () {
    if (!fs.existsSync(path.join(root, 'dist', 'server.js'))) {
      // `npm test` builds first; a bare `mocha` run before any build has nothing to start
      this.skip();
    }
    const child = spawn(process.execPath, [bin, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const reader = new FrameReader(child.stdout);
      child.stdin.write(frame({ id: 1, method: 'initialize', params: { processId: process.pid, rootUri: null, capabilities: {} } }));
      const init = (await reader.response(1)) as { result: { capabilities: { hoverProvider?: boolean }; serverInfo?: { name: string } } };
      assert.equal(init.result.capabilities.hoverProvider, true);
      assert.equal(init.result.serverInfo?.name, 'saliency-studio-language-server');
      child.stdin.write(frame({ method: 'initialized', params: {} }));
      child.stdin.write(frame({ id: 2, method: 'shutdown' }));
      assert.equal((await reader.response(2)).result, null);
      child.stdin.write(frame({ method: 'exit' }));
      assert.equal(await exited, 0);
    } finally {
      child.kill();
    }
  });
});
