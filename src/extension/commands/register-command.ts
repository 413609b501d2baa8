import * as vscode from 'vscode';

/** A command that failed: what the user was shown. */
export interface CommandFailure {
  command: string;
  code: string;
  message: string;
}

/**
 * Registers commands whose failures are shown to the user once (the message says what to do)
 * and logged, instead of surfacing as VS Code's generic "command failed" error. The command then
 * resolves to undefined; `onDidFail` reports the failure (the extension's tests listen to it).
 */
export class CommandRegistrar {
  private readonly failed = new vscode.EventEmitter<CommandFailure>();
  readonly onDidFail = this.failed.event;

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel) {
    context.subscriptions.push(this.failed);
  }

  // Arguments come from VS Code untyped; each handler checks what it gets.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  register(id: string, handler: (...args: any[]) => unknown): void {
    this.context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'error';
        this.log.error(`${id} failed (${code}): ${message}`);
        this.failed.fire({ command: id, code, message });
        void vscode.window.showErrorMessage(message);
        return undefined;
      }
    }));
  }
}
