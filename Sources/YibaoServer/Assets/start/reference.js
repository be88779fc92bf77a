// The API reference, rendered from /openapi.json: operations grouped by area, each with who may call
// it, its parameters, its body and answer schemas, and the problem statuses it may answer.
import { h } from '/desk/desk.js';

const AREAS = [
  ['Settlement (institutions)', (p) => /^\/v1\/(visits|settlements|catalogue|payment-orders|reconciliation|clearings|webhooks)/.test(p)],
  ['Cashier staff', (p) => p.startsWith('/v1/staff')],
  ['Patients', (p) => p.startsWith('/v1/patient') || p.startsWith('/v1/receipts')],
  ['Bureau operators', (p) => p.startsWith('/v1/admin')],
  ['Sandbox', (p) => p.startsWith('/v1/sandbox')],
  ['National interface', (p) => p.startsWith('/fsi')],
  ['Service', () => true],
];

function schemaText(schema, doc, depth = 0) {
  if (!schema) return '';
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop();
    if (depth > 1) return name;
    return `${name} ${schemaText(doc.components.schemas[name], doc, depth + 1)}`;
  }
  if (schema.type === 'array') return `[${schemaText(schema.items, doc, depth)}]`;
  if (schema.enum) return schema.enum.join(' | ');
  if (schema.anyOf) return schema.anyOf.map((s) => schemaText(s, doc, depth)).join(' | ');
  if (schema.properties) {
    const required = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties).map(([name, s]) => `  ${name}${required.has(name) ? '' : '?'}: ${schemaText(s, doc, depth + 1).replace(/\n/g, '\n  ')}`);
    return `{\n${fields.join('\n')}\n}`;
  }
  return schema.type ?? '';
}

function access(operation) {
  const security = operation.security ?? [];
  if (!security.length) return 'anyone';
  return security.map((s) => Object.entries(s).map(([k, v]) => (v.length ? `${k} (${v.join(', ')})` : k)).join(' + ')).join(' or ');
}

async function main() {
  const doc = await (await fetch('/openapi.json')).json();
  const groups = AREAS.map(([name]) => [name, []]);
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const index = AREAS.findIndex(([, test]) => test(path));
      groups[index][1].push({ path, method, operation });
    }
  }
  const main = document.getElementById('main');
  const nav = document.getElementById('areas');
  main.replaceChildren(h('p', {}, `${doc.info?.title ?? 'Yibao'} ${doc.info?.version ?? ''} — money in integer fen, JSON in snake_case, refusals as problem documents with a stable code (docs/api.md).`));
  groups.forEach(([name, ops], index) => {
    if (!ops.length) return;
    const id = `area-${index}`;
    nav.append(h('a', { href: `#${id}` }, name));
    main.append(h('section', { class: 'card', id }, h('h2', {}, `${name} (${ops.length})`), ops.map(({ path, method, operation }) => {
      const params = (operation.parameters ?? []).map((p) => h('li', {}, h('code', {}, p.name), ` in ${p.in}${p.required ? ', required' : ''}${p.description ? ` — ${p.description}` : ''}`));
      const body = operation.requestBody?.content;
      const answers = Object.entries(operation.responses ?? {});
      return h('details', { class: 'op', 'data-path': path, 'data-method': method },
        h('summary', {}, h('span', { class: 'method' }, method.toUpperCase()), h('code', {}, path), ` ${operation.summary ?? ''}`, h('span', { class: 'access' }, access(operation))),
        params.length ? h('div', {}, h('h3', {}, 'Parameters'), h('ul', {}, params)) : null,
        body ? h('div', {}, h('h3', {}, 'Body'), Object.entries(body).map(([type, c]) => h('pre', {}, `${type}\n${schemaText(c.schema, doc)}`))) : null,
        h('h3', {}, 'Answers'),
        h('ul', {}, answers.map(([status, r]) => h('li', {}, h('code', {}, status), ` ${r.description ?? ''}`, r.content && !status.startsWith('4') && !status.startsWith('5')
          ? h('pre', {}, Object.entries(r.content).map(([type, c]) => `${type}\n${schemaText(c.schema, doc)}`).join('\n')) : null))));
    })));
  });
  const problem = doc.components?.schemas?.Problem;
  if (problem) main.append(h('section', { class: 'card', id: 'problems' }, h('h2', {}, 'Problem documents'), h('pre', {}, schemaText(problem, doc)),
    h('p', {}, 'Every refusal names a stable code (docs/api.md lists them); clients show a message by the code, never the detail.')));
}

main();
