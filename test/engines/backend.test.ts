/** Backend selection (backend.ts): order, fallbacks and the reasons it reports. */
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { BackendError, selectBackend } from '../../server/src/engines/tfjs/backend';
import { tf } from '../../server/src/engines/tfjs/tf';

function notInstalled(name: string): never {
  const e = new Error(`Cannot find module '${name}'\nRequire stack:\n- x.js`) as NodeJS.ErrnoException;
  e.code = 'MODULE_NOT_FOUND';
  throw e;
}

describe('tfjs backend selection', function () {
  this.timeout(30000);
  after(async () => {
    await tf.setBackend('cpu');
  });

  it('auto falls through the native packages to wasm and says why each was skipped', async () => {
    const asked: string[] = [];
    const sel = await selectBackend('auto', { requireModule: (n) => (asked.push(n), notInstalled(n)) });
    assert.deepEqual(asked, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    assert.equal(sel.backend, 'wasm');
    assert.equal(sel.tfBackend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.match(sel.reason, /^wasm \(XNNPACK, (no )?SIMD, 1 thread\); not used: @tensorflow\/tfjs-node-gpu: not installed; @tensorflow\/tfjs-node: not installed$/);
    assert.deepEqual(sel.attempts.map((a) => [a.backend, a.ok]), [['tensorflow-gpu', false], ['tensorflow', false], ['wasm', true]]);
  });

  it('a native package that is installed but broken is reported with its error', async () => {
    const sel = await selectBackend('auto', {
      requireModule: (n) => {
        if (n.endsWith('-gpu')) throw new Error('libcudart.so.11.0: cannot open shared object file\nmore');
        return notInstalled(n);
      },
    });
    assert.match(sel.reason, /@tensorflow\/tfjs-node-gpu: failed to load \(libcudart\.so\.11\.0: cannot open shared object file\)/);
  });

  it('a native package whose install script never fetched libtensorflow says how to fix it', async () => {
    const sel = await selectBackend('auto', {
      requireModule: (n) => {
        if (n.endsWith('-gpu')) return notInstalled(n);
        // tfjs-node's own message (lib/index.js) when lib/napi-v8/tfjs_binding.node is absent
        throw new Error(`The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/node_modules/${n}/lib/napi-v8/tfjs_binding.node. \nPlease run command 'npm rebuild @tensorflow/tfjs-node build-addon-from-source' to rebuild the native addon module.`);
      },
    });
    assert.match(sel.reason, /@tensorflow\/tfjs-node: installed without its native library \(libtensorflow is downloaded by its install script.*`npm rebuild @tensorflow\/tfjs-node` with internet access\)/);
    assert.equal(sel.backend, 'wasm');
  });

  it('without the wasm binaries auto ends on cpu', async () => {
    const sel = await selectBackend('auto', { requireModule: notInstalled, wasmDir: os.tmpdir() });
    assert.equal(sel.backend, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.match(sel.reason, /^cpu \(pure JavaScript\); not used: .*tfjs-node: not installed; wasm: .*tfjs-backend-wasm-simd\.wasm is missing/);
  });

  it('an explicit backend that cannot be used is an error, not a silent fallback', async () => {
    await assert.rejects(selectBackend('tensorflow', { requireModule: notInstalled }), (e: unknown) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /train\.backend = tensorflow cannot be used: @tensorflow\/tfjs-node: not installed/);
      return true;
    });
  });

  it('explicit cpu and wasm work and say they were requested', async () => {
    assert.match((await selectBackend('cpu')).reason, /requested by train\.backend/);
    assert.equal((await selectBackend('wasm')).tfBackend, 'wasm');
  });

  it('really loading the optional native packages either works or names the package', async () => {
    const sel = await selectBackend('auto');
    for (const a of sel.attempts.filter((x) => !x.ok)) assert.match(a.reason, /@tensorflow\/tfjs-node(-gpu)?: /);
  });
});
