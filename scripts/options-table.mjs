// Writes the options tables of README.md and docs/api.md, the options reference of docs/api.md
// and its environment table from the code instead of by hand: each option and what it does from the
// TSDoc of `SovendusOptions` (and of the nested `...Options` interfaces) in src/types.ts, each
// default as the built options schema fills it in, and each environment variable from the table
// of settings (src/config/settings.ts). A default stated in the TSDoc must be the one the code
// applies, and the table's defaults the ones the schema fills in, or this script fails.
//
//   npm run build && node scripts/options-table.mjs           rewrites the four blocks
//   node scripts/options-table.mjs --check                    exits 1 when one is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const TYPES = 'src/types.ts';

const { SETTINGS } = await import(`${root}/dist/esm/config/settings.js`);
const settings = Object.values(SETTINGS);

/** The TSDoc of a declaration as plain text, `{@link X}` written as `X` in code. */
function docOf(node) {
  return ts
    .getJSDocCommentsAndTags(node)
    .filter(ts.isJSDoc)
    .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '')
    .join(' ')
    .replace(/\{@link\s+([^}\s]+)\s*\}/g, '`$1`')
    .replace(/\s+/g, ' ')
    .trim();
}

// Sentences end at ". " before a capital letter: "e.g. `x`" and "(...)." inside one do not.
const sentencesOf = (text) => text.split(/(?<=[.!?])\s+(?=[A-Z])/).filter(Boolean);

/** Where `;` first stands outside parentheses, or -1. */
function topLevelSemicolon(text) {
  let depth = 0;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (char === ';' && depth === 0) return index;
  }
  return -1;
}

/**
 * Splits a TSDoc into what the option does and its default: a sentence "Default X." or
 * "Default: X; more." gives X, and "more" stays with the description.
 */
function splitDefault(doc) {
  let stated;
  const rest = [];
  for (const sentence of sentencesOf(doc)) {
    const match = /^Default:?\s+(.*?)\.?$/.exec(sentence);
    if (!match || stated !== undefined) {
      rest.push(sentence);
      continue;
    }
    const cut = topLevelSemicolon(match[1]);
    stated = cut === -1 ? match[1] : match[1].slice(0, cut);
    const more = cut === -1 ? '' : match[1].slice(cut + 1).trim();
    if (more) rest.push(`${more.charAt(0).toUpperCase()}${more.slice(1)}.`);
  }
  return { stated, description: rest.join(' ') };
}

/** The option rows, in the interface's order; `...Options` members are expanded in place. */
function readOptions() {
  const source = ts.createSourceFile(
    TYPES,
    readFileSync(`${root}/${TYPES}`, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const interfaces = new Map(
    source.statements.filter(ts.isInterfaceDeclaration).map((node) => [node.name.text, node]),
  );
  const rows = [];
  const walk = (declaration, prefix) => {
    for (const member of declaration.members) {
      if (!ts.isPropertySignature(member) || !member.type) continue;
      const path = `${prefix}${member.name.getText()}`;
      const type = member.type.getText().replace(/\s*\|\s*undefined$/, '');
      const nested = interfaces.get(type);
      rows.push({
        path,
        type: type.replace(/\s+/g, ' '),
        // Required inside its parent, when the parent is given.
        required:
          member.questionToken === undefined && (prefix === '' ? true : prefix.slice(0, -1)),
        nested: nested !== undefined && type.endsWith('Options'),
        ...splitDefault(docOf(member)),
      });
      if (nested && type.endsWith('Options')) walk(nested, `${path}.`);
    }
  };
  walk(interfaces.get('SovendusOptions'), '');
  return rows;
}

/** Every default the code fills in, by option path, from the built options schema. */
async function codeDefaults() {
  const { resolveOptions } = await import(`${root}/dist/esm/config/options.js`);
  const resolved = resolveOptions({
    productId: '9bc72425-902c-3abf-9db8-8b186d7cb160',
    apiKey: 'KEY',
    coupons: { trafficSourceNumber: 1 },
  });
  const given = new Set(['productId', 'apiKey', 'coupons.trafficSourceNumber']);
  const defaults = new Map();
  const walk = (object, prefix) => {
    for (const [key, value] of Object.entries(object)) {
      const path = `${prefix}${key}`;
      if (typeof value === 'object' && value !== null) walk(value, `${path}.`);
      else if (!given.has(path)) defaults.set(path, value);
    }
  };
  walk(resolved, '');
  return defaults;
}

/** The table's setting of each option path; each must be an option of src/types.ts. */
function settingsByOption(rows) {
  const paths = new Set(rows.map((row) => row.path));
  const byOption = new Map();
  for (const setting of settings) {
    if (setting.option === undefined) continue;
    if (!paths.has(setting.option)) {
      throw new Error(`src/config/settings.ts: ${setting.option} is no option of ${TYPES}`);
    }
    byOption.set(setting.option, setting);
  }
  return byOption;
}

async function describeOptions() {
  const rows = readOptions();
  const defaults = await codeDefaults();
  const byOption = settingsByOption(rows);
  return rows.map((row) => {
    const inCode = defaults.get(row.path);
    const setting = byOption.get(row.path);
    if (setting?.default !== undefined && setting.default !== inCode) {
      throw new Error(
        `src/config/settings.ts: the default of ${row.path} is ${setting.default}, the schema's ${inCode}`,
      );
    }
    if (inCode !== undefined && row.stated !== undefined) {
      const literal = /^`([^`]*)`/.exec(row.stated)?.[1];
      if (literal !== String(inCode)) {
        throw new Error(
          `${TYPES}: the TSDoc of ${row.path} says its default is ${row.stated}, the code ${inCode}`,
        );
      }
    }
    const byCode = inCode === undefined ? undefined : `\`${inCode}\``;
    const required = row.required === true ? 'required' : `required in \`${row.required}\``;
    const byWords = setting?.required ?? (row.required ? required : undefined);
    return {
      ...row,
      // The full table's cell: the value alone. The reference keeps what the TSDoc says with it.
      shortDefault: byCode ?? row.stated?.replace(/\s*\(.*$/, '') ?? byWords ?? 'none',
      fullDefault: row.stated ?? byCode ?? byWords,
      variable: setting?.env,
    };
  });
}

const cell = (text) => text.replace(/\|/g, '\\|');
const summaryOf = (description) => sentencesOf(description)[0] ?? '';

/** Every option with its default, environment variable and summary: docs/api.md's table. */
function fullTable(options) {
  const lines = [
    '| option | default | environment variable | what it does |',
    '| --- | --- | --- | --- |',
    ...options
      .filter((option) => !option.nested)
      .map((option) =>
        [
          `\`${option.path}\``,
          option.shortDefault,
          option.variable ? `\`${option.variable}\`` : '',
          summaryOf(option.description),
        ]
          .map(cell)
          .join(' | '),
      )
      .map((row) => `| ${row} |`),
  ];
  return lines.join('\n');
}

/**
 * The README's options: those a new shop decides on its first day, the ones the Quick start
 * gives (where conversions go, the key), what turns on voucher codes, and what production
 * wants (a shared store, a logger, and a queue and consent where the shop needs them). Most
 * shops leave the others out; listing all of them, with their defaults, made the README half
 * table. docs/api.md keeps the full table.
 */
const README_OPTIONS = [
  'productId',
  'apiKey',
  'coupons.trafficSourceNumber',
  'store',
  'consent',
  'queue',
  'logger',
];

function readmeTable(options) {
  const byPath = new Map(options.map((option) => [option.path, option]));
  const rows = README_OPTIONS.map((path) => {
    const option = byPath.get(path);
    if (option === undefined) throw new Error(`README_OPTIONS: ${path} is no option of ${TYPES}`);
    return `| ${[`\`${path}\``, summaryOf(option.description)].map(cell).join(' | ')} |`;
  });
  const all = options.filter((option) => !option.nested).length;
  return [
    '| option | what it does |',
    '| --- | --- |',
    ...rows,
    '',
    `Most shops leave out the other ${all - rows.length}; [all ${all}](docs/api.md#options), with their`,
    'defaults and environment variables, are in docs/api.md.',
  ].join('\n');
}

/** What `doctor` prints of a variable, by the table's `shown`. */
const SHOWN = {
  'as is': 'the value',
  secret: 'its last 4 characters',
  uuid: 'the value; masked unless a UUID',
  uuids: 'each value; masked unless a UUID',
  url: 'the URL, credentials masked',
};

/** The environment table: every variable of the table of settings, in its order. */
function envTable(options) {
  const byPath = new Map(options.map((option) => [option.path, option]));
  const lines = [
    '| variable | option | default | `doctor` shows | what it is |',
    '| --- | --- | --- | --- | --- |',
    ...settings
      .filter((setting) => setting.env !== undefined)
      .map((setting) => {
        const option = byPath.get(setting.option);
        const unset = setting.whenUnset === undefined ? 'none' : `none: ${setting.whenUnset}`;
        const byTable = setting.default === undefined ? undefined : `\`${setting.default}\``;
        return [
          `\`${setting.env}\``,
          option ? `\`${option.path}\`` : '',
          byTable ?? setting.required ?? unset,
          SHOWN[setting.shown ?? 'as is'],
          option ? summaryOf(option.description) : setting.doc,
        ];
      })
      .map((cells) => `| ${cells.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/**
 * Greedy wrap to 100 columns, the first line after `first`, the others after `indent`; a line
 * never starts with what Markdown would read as a list item or a heading.
 */
function wrap(text, first, indent) {
  const lines = [];
  let line = first;
  let lead = first;
  for (const word of text.split(' ')) {
    const next = line === lead ? `${line}${word}` : `${line} ${word}`;
    if (next.length > 100 && line !== lead && !/^([-+*#>]|\d+[.)])$/.test(word)) {
      lines.push(line);
      lead = indent;
      line = `${indent}${word}`;
    } else line = next;
  }
  lines.push(line);
  return lines.join('\n');
}

function apiReference(options) {
  return options
    .map((option) => {
      const facts = [`\`${option.type}\``];
      if (option.fullDefault?.startsWith('required')) facts.push(option.fullDefault);
      else if (option.fullDefault) facts.push(`default ${option.fullDefault}`);
      if (option.variable) facts.push(`\`${option.variable}\``);
      const indent = '  '.repeat(option.path.split('.').length - 1);
      const text = `**\`${option.path}\`** (${facts.join(', ')}): ${option.description}`;
      return wrap(text, `${indent}- `, `${indent}  `);
    })
    .join('\n');
}

/** Replaces what stands between `<!-- NAME:start -->` and `<!-- NAME:end -->`. */
function between(text, name, content, file) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) throw new Error(`${file} has no ${start} ... ${end}`);
  return `${text.slice(0, from + start.length)}\n\n${content}\n\n${text.slice(to)}`;
}

const options = await describeOptions();
const targets = [
  ['README.md', 'options-table', readmeTable(options)],
  ['docs/api.md', 'options-table', fullTable(options)],
  ['docs/api.md', 'options-reference', apiReference(options)],
  ['docs/api.md', 'env-table', envTable(options)],
];
const check = process.argv.includes('--check');
let stale = false;
for (const [file, name, content] of targets) {
  const path = `${root}/${file}`;
  const current = readFileSync(path, 'utf8');
  const config = await prettier.resolveConfig(path);
  const wanted = await prettier.format(between(current, name, content, file), {
    ...config,
    filepath: path,
  });
  if (wanted === current) continue;
  if (check) {
    console.error(`${file}: the ${name} block is stale; run node scripts/options-table.mjs`);
    stale = true;
  } else {
    writeFileSync(path, wanted);
    console.log(`${file}: ${name} written`);
  }
}
if (stale) process.exitCode = 1;
