// The UI checks' stand-in for the chat agent: reads `agent-call.json` ({ name, input }) from the
// first workspace folder, calls that tool with vscode.lm.invokeTool (outside a chat request, so
// VS Code asks for a tool's confirmation in a modal dialog), and writes what came back to
// `agent-result.json`: { ok: true, text } or { ok: false, error }.
const vscode = require('vscode');

exports.activate = (context) => {
  context.subscriptions.push(vscode.commands.registerCommand('agentStandIn.invokeTool', async () => {
    const folder = vscode.workspace.workspaceFolders[0].uri;
    const call = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, 'agent-call.json'))).toString('utf8'));
    let outcome;
    try {
      const result = await vscode.lm.invokeTool(call.name, { input: call.input, toolInvocationToken: undefined });
      outcome = { ok: true, text: result.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('') };
    } catch (err) {
      outcome = { ok: false, error: `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}` };
    }
    await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(folder, 'agent-result.json'), Buffer.from(JSON.stringify(outcome, null, 2)));
  }));
};
