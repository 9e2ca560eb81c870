/**
 * The dashboard's HTML: a pure function, so a test can check its Content-Security-Policy.
 * Nothing remote: scripts only with the per-load nonce, styles, images and fonts only
 * from the webview's own resource origin (the bundle in dist/ and the runs folder).
 */
import * as crypto from 'node:crypto';

export interface DashboardHtmlParams {
  /** `webview.cspSource`. */
  cspSource: string;
  nonce: string;
  /** Webview URIs of dist/webview.js and dist/webview.css. */
  scriptUri: string;
  styleUri: string;
  title?: string;
}

/** A fresh nonce per page load (128 random bits). */
export function makeNonce(): string {
  return crypto.randomBytes(16).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource}`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function dashboardHtml(p: DashboardHtmlParams): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(p.cspSource, p.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(p.styleUri)}">
<title>${escapeAttr(p.title ?? 'Saliency Studio dashboard')}</title>
</head>
<body>
<main id="app"></main>
<script nonce="${escapeAttr(p.nonce)}" src="${escapeAttr(p.scriptUri)}"></script>
</body>
</html>
`;
}
