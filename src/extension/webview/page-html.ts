/**
 * The HTML of a webview page of ours (the sync timeline, the query results grid): one script and
 * one stylesheet from the extension, under a strict CSP — scripts only with this page's fresh
 * nonce, styles and fonts only from the extension, no inline code, no eval.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function pageHtml(webview: vscode.Webview, options: { script: vscode.Uri; style: vscode.Uri; title: string }): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(options.script);
  const style = webview.asWebviewUri(options.style);
  const csp = [
    `default-src 'none';`,
    `img-src ${webview.cspSource} data:;`,
    `script-src 'nonce-${nonce}';`,
    `style-src ${webview.cspSource};`,
    `font-src ${webview.cspSource};`,
  ].join(' ');
  return `<!DOCTYPE html>
<html lang="${escapeHtml(vscode.env.language)}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(style.toString())}">
<title>${escapeHtml(options.title)}</title>
</head>
<body>
<main id="app" aria-busy="true"></main>
<script nonce="${nonce}" src="${escapeHtml(script.toString())}"></script>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
