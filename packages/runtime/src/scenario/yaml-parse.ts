import { Composer, type CST, type Document, LineCounter, Parser, type YAMLError, isAlias, isNode, visit } from 'yaml';
import { type RawValue, exceedsDepth } from './raw';
import { SCENARIO_LIMITS } from './limits';
import { ScenarioError, limitError, syntaxError } from './errors';

// YAML 1.2 core schema only: no `<<` merge keys, no 1.1 extras (!!binary, !!set, timestamps). Integers
// come back as bigint so validation can tell 40 from 40.0 and see past 2^53.
const OPTIONS = {
  version: '1.2',
  schema: 'core',
  merge: false,
  intAsBigInt: true,
  uniqueKeys: true,
  strict: true,
  prettyErrors: false, // positions are added here; the yaml package's pretty form spans several lines
  logLevel: 'silent',
} as const;

/**
 * Parses one YAML document. The CST pass (the yaml package's lexer and parser keep explicit stacks)
 * runs first so that nesting depth and scalar length are checked before the recursive composer and
 * toJS ever see the input.
 */
export function parseYamlText(text: string, file: string): RawValue {
  const lines = new LineCounter();
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  const pos = (offset: number): { line: number; column: number } => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };

  const documents = tokens.filter((t) => t.type === 'document');
  if (documents.length > 1) {
    throw new ScenarioError(
      syntaxError(file, pos(documents[1]!.offset), 'more than one YAML document (a scenario is exactly one)'),
    );
  }
  checkCst(tokens, file, pos);

  const docs = Array.from(new Composer(OPTIONS).compose(tokens));
  const doc = docs[0];
  if (doc === undefined) return null;
  const problem: YAMLError | undefined = doc.errors[0] ?? doc.warnings[0];
  if (problem !== undefined) {
    // Warnings are refused too: the one the core schema emits is an unresolved (custom) tag.
    const where = problem.pos[0] >= 0 ? pos(problem.pos[0]) : undefined;
    throw new ScenarioError(syntaxError(file, where, firstLine(problem.message)));
  }
  checkTagsAndAliases(doc, file, pos);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: SCENARIO_LIMITS.maxAliasCount });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/alias count/i.test(message)) {
      throw new ScenarioError(
        limitError(file, undefined, `YAML aliases expand too much (limit ${SCENARIO_LIMITS.maxAliasCount})`),
        { cause: e },
      );
    }
    throw new ScenarioError(syntaxError(file, undefined, firstLine(message)), { cause: e });
  }
  const raw = value as RawValue;
  // Aliases can place a deep anchor deep again; the CST check could not see that.
  if (exceedsDepth(raw, SCENARIO_LIMITS.maxDepth)) {
    throw new ScenarioError(
      limitError(file, undefined, `nesting deeper than ${SCENARIO_LIMITS.maxDepth} levels (after aliases)`),
    );
  }
  return raw;
}

// Only the YAML 1.2 core tags: the yaml package would otherwise honour !!binary, !!set, !!omap,
// !!pairs and !!timestamp when written explicitly, producing values no scenario field means.
const CORE_TAGS = new Set(['map', 'seq', 'str', 'int', 'float', 'bool', 'null'].map((t) => `tag:yaml.org,2002:${t}`));

function checkTagsAndAliases(
  doc: Document.Parsed,
  file: string,
  pos: (offset: number) => { line: number; column: number },
): void {
  // Recursion inside visit() is bounded: checkCst() already limited the nesting depth. Anchors are
  // tracked here in document order (visit is pre-order) because Alias.resolve() without a context
  // rescans the whole document per alias, which is quadratic on hostile input.
  const anchors = new Set<string>();
  visit(doc, (_key, node) => {
    if (isAlias(node)) {
      if (!anchors.has(node.source)) {
        const at = node.range ? pos(node.range[0]) : undefined;
        throw new ScenarioError(syntaxError(file, at, `unresolved alias *${node.source}`));
      }
    } else if (isNode(node)) {
      if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
        const at = node.range ? pos(node.range[0]) : undefined;
        throw new ScenarioError(syntaxError(file, at, `tag ${node.tag} is not allowed (only plain YAML 1.2 core values)`));
      }
      if (node.anchor !== undefined) anchors.add(node.anchor);
    }
    return undefined;
  });
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.trim();
}

/** Walks the CST with an explicit stack: refuses too-deep nesting and over-long scalars. */
function checkCst(
  tokens: readonly CST.Token[],
  file: string,
  pos: (offset: number) => { line: number; column: number },
): void {
  const stack: Array<[CST.Token, number]> = tokens.map((t) => [t, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    switch (token.type) {
      case 'document':
        if (token.value) stack.push([token.value, depth]);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        if (depth + 1 > SCENARIO_LIMITS.maxDepth) {
          throw new ScenarioError(
            limitError(file, pos(token.offset), `nesting deeper than ${SCENARIO_LIMITS.maxDepth} levels`),
          );
        }
        for (const item of token.items) {
          if (item.key) stack.push([item.key, depth + 1]);
          if (item.value) stack.push([item.value, depth + 1]);
        }
        break;
      }
      case 'scalar':
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
      case 'block-scalar':
        if (token.source.length > SCENARIO_LIMITS.maxScalarChars) {
          throw new ScenarioError(
            limitError(file, pos(token.offset), `scalar longer than ${SCENARIO_LIMITS.maxScalarChars} characters`),
          );
        }
        break;
      default:
        break;
    }
  }
}
