/**
 * Entry point of the language server bundle (dist/server.js, launched by the
 * extension over IPC and by `sgt-language-server`). The transport comes from the
 * command line, as vscode-languageserver reads it: `--stdio`, `--node-ipc`,
 * `--socket=PORT` or `--pipe=NAME`.
 */
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { startServer } from './server';

startServer(createConnection(ProposedFeatures.all));
