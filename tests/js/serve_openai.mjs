// owl serve through the official `openai` npm client, against the real server
// on a loopback port it picks: models, chat (stream and not), completions, the
// error a bad request raises, and 8 concurrent streaming clients x 20 requests
// each answered exactly as the same request served alone with the same seed.
import { spawn } from 'node:child_process';
import OpenAI from 'openai';

const owl = process.env.OWL_BIN || 'build/owl';
const shared = process.env.OWL_SHARED || '../shared';
const model = `${shared}/models/stories260K/stories260K.gguf`;
let pass = 0, fail = 0;
const ok = () => pass++;
const bad = (m) => { fail++; console.log('FAIL: ' + m); };
const check = (c, m) => (c ? ok() : bad(m));

const srv = spawn(owl, ['serve', '--model', `s=${model}`, '--chat-template', 'tests/data/chatml.jinja',
  '--port', '0', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise((res, rej) => {
  let log = '';
  srv.stderr.on('data', (d) => {
    log += d;
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
    if (m) res(Number(m[1]));
  });
  srv.on('exit', (c) => rej(new Error(`server exited ${c}: ${log}`)));
  setTimeout(() => rej(new Error('server did not start: ' + log)), 10000);
});
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 });

try {
  const models = await client.models.list();
  check(models.data.length === 1 && models.data[0].id === 's', 'models: ' + JSON.stringify(models.data));

  const msg = [{ role: 'user', content: 'Tell me a story' }];
  const chat = await client.chat.completions.create({ model: 's', messages: msg, max_tokens: 12, seed: 5 });
  check(chat.object === 'chat.completion' && typeof chat.choices[0].message.content === 'string' &&
    chat.choices[0].message.role === 'assistant', 'chat: ' + JSON.stringify(chat));
  check(chat.usage.completion_tokens > 0 && chat.usage.total_tokens === chat.usage.prompt_tokens + chat.usage.completion_tokens,
    'chat usage: ' + JSON.stringify(chat.usage));

  const stream = await client.chat.completions.create({ model: 's', messages: msg, max_tokens: 12, seed: 5,
    stream: true, stream_options: { include_usage: true } });
  let text = '', usage = null, finish = null;
  for await (const ch of stream) {
    if (ch.choices[0]?.delta?.content) text += ch.choices[0].delta.content;
    if (ch.choices[0]?.finish_reason) finish = ch.choices[0].finish_reason;
    if (ch.usage) usage = ch.usage;
  }
  check(text === chat.choices[0].message.content, `stream '${text}' vs '${chat.choices[0].message.content}'`);
  check(finish !== null && usage && usage.completion_tokens === chat.usage.completion_tokens, 'stream finish/usage');

  const comp = await client.completions.create({ model: 's', prompt: 'Once upon a time', max_tokens: 20, temperature: 0 });
  check(comp.choices[0].text.startsWith(', there was a little girl named Lily'), 'completion: ' + comp.choices[0].text);
  check(comp.choices[0].finish_reason === 'length', 'finish_reason length');

  // json_schema response format: the output parses and has the schema's shape
  const schema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'] };
  for (const seed of [1, 2, 3]) {
    const js = await client.chat.completions.create({ model: 's', messages: msg, max_tokens: 80, seed,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema } } });
    let v = null;
    try { v = JSON.parse(js.choices[0].message.content); } catch (e) { bad('json_schema output does not parse: ' + js.choices[0].message.content); }
    if (v) check(typeof v.name === 'string' && Number.isInteger(v.age) && Object.keys(v).length === 2,
      'json_schema output does not match: ' + js.choices[0].message.content);
  }
  const jo = await client.chat.completions.create({ model: 's', messages: msg, max_tokens: 40, seed: 4,
    response_format: { type: 'json_object' } });
  try { check(typeof JSON.parse(jo.choices[0].message.content) === 'object', 'json_object'); }
  catch (e) { bad('json_object output does not parse: ' + jo.choices[0].message.content); }

  try {
    await client.chat.completions.create({ model: 's', messages: msg, temperature: 'hot' });
    bad('a bad request did not raise');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'temperature', 'bad request error: ' + e);
  }
  try {
    await client.chat.completions.create({ model: 'nope', messages: msg });
    bad('an unknown model did not raise');
  } catch (e) {
    check(e instanceof OpenAI.NotFoundError && e.status === 404, 'unknown model error: ' + e);
  }

  // 8 concurrent streaming clients x 20 requests; each answer equals the same request served alone
  const req = (i) => ({ model: 's', messages: [{ role: 'user', content: `Story number ${i % 5}` }], max_tokens: 16,
    temperature: 0.8, seed: 100 + i });
  const alone = [];
  for (let i = 0; i < 20; i++) {
    const r = await client.chat.completions.create(req(i));
    alone.push(r.choices[0].message.content);
  }
  let errors = 0, diffs = 0;
  await Promise.all(Array.from({ length: 8 }, async (_, c) => {
    for (let k = 0; k < 20; k++) {
      const i = (k + c * 3) % 20;
      try {
        const s = await client.chat.completions.create({ ...req(i), stream: true });
        let t = '';
        for await (const ch of s) t += ch.choices[0]?.delta?.content || '';
        if (t !== alone[i]) { diffs++; if (diffs < 3) console.log(`diff ${i}: '${t}' vs '${alone[i]}'`); }
      } catch (e) { errors++; if (errors < 3) console.log('error: ' + e); }
    }
  }));
  check(errors === 0, `${errors} errors among 160 concurrent requests`);
  check(diffs === 0, `${diffs} concurrent answers differ from the same request served alone`);
} catch (e) {
  bad('unexpected: ' + (e.stack || e));
}
srv.kill('SIGTERM');
console.log(`serve_openai: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
