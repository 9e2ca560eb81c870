import * as assert from 'node:assert/strict';
import { dashboardHtml, makeNonce } from '../../client/src/dashboard/html';

describe('dashboard HTML', () => {
  const nonce = makeNonce();
  const cspSource = 'https://file+.vscode-resource.vscode-cdn.net';
  const html = dashboardHtml({
    cspSource,
    nonce,
    scriptUri: `${cspSource}/ext/dist/webview.js`,
    styleUri: `${cspSource}/ext/dist/webview.css`,
  });
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? '';

  it('has a strict CSP: nothing by default, scripts only with the nonce, resources only from the webview origin', () => {
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('script-src'), [`'nonce-${nonce}'`]);
    assert.deepEqual(directives.get('img-src'), [cspSource]);
    assert.deepEqual(directives.get('style-src'), [cspSource]);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
  });

  it('every script carries the nonce and nothing is loaded from elsewhere', () => {
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.equal(scripts.length, 1);
    assert.ok(scripts.every((s) => s.includes(`nonce="${nonce}"`)));
    const urls = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    assert.ok(urls.length >= 2);
    for (const u of urls) assert.ok(u.startsWith(cspSource), u);
    assert.ok(!/https?:\/\/(?!file\+\.vscode-resource)/.test(html), 'no remote URL');
  });

  it('a fresh nonce each load', () => {
    assert.notEqual(makeNonce(), makeNonce());
    assert.ok(makeNonce().length >= 22);
  });
});
