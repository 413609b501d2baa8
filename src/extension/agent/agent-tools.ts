/**
 * The chat agent's WiseJSON tools (`contributes.languageModelTools`): list the databases and
 * collections, describe a collection (schema sample and indexes), run a read-only query or count,
 * explain a query; and write (insert, update by filter, delete by filter), which always asks the
 * user first, saying how many documents it touches, and is refused in an untrusted workspace.
 * What they answer is built in ./database-tools; this file only registers them.
 */
import * as vscode from 'vscode';
import type { DatabaseRegistry } from '../databases/database-registry';
import { describeCollection, explainQuery, findDatabase, listDatabases, planWrite, queryCollection, type QueryToolInput, type WriteToolInput } from './database-tools';

/** The tools' names, as contributed in package.json. */
export const AGENT_TOOLS = {
  listDatabases: 'wisejson_listDatabases',
  describeCollection: 'wisejson_describeCollection',
  query: 'wisejson_query',
  explain: 'wisejson_explain',
  write: 'wisejson_write',
} as const;

const textResult = (text: string): vscode.LanguageModelToolResult => new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(text)]);

export function registerAgentTools(context: vscode.ExtensionContext, registry: DatabaseRegistry): void {
  /** A read tool: its progress message and its answer. */
  const readTool = <T>(name: string, message: (input: T) => string, answer: (input: T) => Promise<string>): void => {
    context.subscriptions.push(vscode.lm.registerTool<T>(name, {
      prepareInvocation: (options) => ({ invocationMessage: message(options.input) }),
      invoke: async (options) => textResult(await answer(options.input)),
    }));
  };
  const where = (input: QueryToolInput): string => `${typeof input.collection === 'string' ? input.collection : '?'} (${typeof input.database === 'string' ? input.database : '?'})`;

  readTool<Record<string, never>>(AGENT_TOOLS.listDatabases, () => vscode.l10n.t('Listing the WiseJSON databases'), () => listDatabases(registry.list()));
  readTool<QueryToolInput>(AGENT_TOOLS.describeCollection, (i) => vscode.l10n.t('Reading the schema and indexes of {0}', where(i)),
    (i) => describeCollection(findDatabase(registry.list(), i.database), i.collection));
  readTool<QueryToolInput>(AGENT_TOOLS.query, (i) => (i.count === true ? vscode.l10n.t('Counting in {0}', where(i)) : vscode.l10n.t('Querying {0}', where(i))),
    (i) => queryCollection(findDatabase(registry.list(), i.database), i));
  readTool<QueryToolInput>(AGENT_TOOLS.explain, (i) => vscode.l10n.t('Explaining a query on {0}', where(i)),
    (i) => explainQuery(findDatabase(registry.list(), i.database), i));

  // The write tool: checked and counted before the user is asked, checked again when it runs.
  const untrusted = (): Error => new Error(vscode.l10n.t('The WiseJSON write tool is refused in an untrusted workspace: its databases are read-only. Trust the workspace to let the agent write.'));
  context.subscriptions.push(vscode.lm.registerTool<WriteToolInput>(AGENT_TOOLS.write, {
    async prepareInvocation(options) {
      if (!vscode.workspace.isTrusted) throw untrusted();
      const plan = await planWrite(registry.list(), options.input);
      const what = plan.action === 'insert'
        ? vscode.l10n.t('{0} new document(s), in one commit.', plan.touches)
        : plan.action === 'update'
          ? vscode.l10n.t('{0} document(s) match now; all of them are updated in one commit.', plan.touches)
          : vscode.l10n.t('{0} document(s) match now; all of them are deleted in one commit.', plan.touches);
      return {
        invocationMessage: plan.summary,
        confirmationMessages: { title: `${plan.summary}?`, message: new vscode.MarkdownString(`${what}\n\n\`\`\`json\n${plan.detail}\n\`\`\``) },
      };
    },
    async invoke(options) {
      if (!vscode.workspace.isTrusted) throw untrusted();
      return textResult(await (await planWrite(registry.list(), options.input)).run());
    },
  }));
}
