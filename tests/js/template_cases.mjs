// template_cases.mjs: what template_conformance.mjs renders: the conversations
// (OpenAI-shaped messages), the tools and documents given to the model
// templates, and small templates of its own that exercise each construct of the
// Jinja subset chat templates use, each with a few contexts.
// Construct templates under "refused/" are ones @huggingface/jinja 0.5.11 does
// not render (Python Jinja does): there owl must refuse too.

const SYS = 'You are a helpful assistant.';
const u = (content) => ({ role: 'user', content });
const a = (content, extra = {}) => ({ role: 'assistant', content, ...extra });
const s = (content) => ({ role: 'system', content });
const call = (id, name, args) => ({ id, type: 'function', function: { name, arguments: args } });
const tool = (id, name, content) => ({ role: 'tool', tool_call_id: id, name, content });

const weatherArgs = { location: 'Paris, France', unit: 'celsius' };
const weatherJson = '{"temperature": 21.5, "condition": "sunny"}';

export const conversations = [
  { name: 'single-user', messages: [u('Hello! How are you?')] },
  { name: 'system-user', messages: [s(SYS), u('What is the capital of France?')] },
  { name: 'multi-turn', messages: [u('Hi there.'), a('Hello! How can I help?'), u('Tell me a joke.')] },
  {
    name: 'system-multi-turn',
    messages: [s(SYS), u('Hi.'), a('Hello.'), u('What is 2 + 2?'), a('4.'), u('And 3 + 3?')],
  },
  { name: 'ends-assistant', messages: [u('Name a colour.'), a('Blue.')] },
  { name: 'system-ends-assistant', messages: [s(SYS), u('Name a fruit.'), a('An apple.')] },
  {
    name: 'content-parts',
    messages: [u([{ type: 'text', text: 'Describe this picture.' }, { type: 'text', text: ' Briefly, please.' }])],
  },
  {
    name: 'system-parts',
    messages: [
      s([{ type: 'text', text: SYS }]),
      u([{ type: 'text', text: 'Hi' }]),
      a([{ type: 'text', text: 'Hello.' }]),
      u([{ type: 'text', text: 'Bye' }]),
    ],
  },
  {
    name: 'tool-call-object',
    messages: [
      u("What's the weather in Paris?"),
      a('', { tool_calls: [call('call00001', 'get_weather', weatherArgs)] }),
      tool('call00001', 'get_weather', weatherJson),
      a('It is 21.5 °C and sunny in Paris.'),
    ],
  },
  {
    name: 'tool-call-string',
    messages: [
      u("What's the weather in Paris?"),
      a(null, { tool_calls: [call('call00001', 'get_weather', JSON.stringify(weatherArgs))] }),
      tool('call00001', 'get_weather', weatherJson),
      a('It is 21.5 °C and sunny in Paris.'),
    ],
  },
  {
    name: 'tool-call-pending',
    messages: [
      s(SYS),
      u('Look up the weather in Oslo.'),
      a('', { tool_calls: [call('call00002', 'get_weather', { location: 'Oslo, Norway' })] }),
      tool('call00002', 'get_weather', '{"temperature": -3, "condition": "snow"}'),
    ],
  },
  {
    name: 'tool-calls-parallel',
    messages: [
      u('Weather in Oslo and in Lima?'),
      a('', {
        tool_calls: [
          call('call00003', 'get_weather', { location: 'Oslo, Norway' }),
          call('call00004', 'get_weather', { location: 'Lima, Peru', unit: 'fahrenheit' }),
        ],
      }),
      tool('call00003', 'get_weather', '{"temperature": -3}'),
      tool('call00004', 'get_weather', '{"temperature": 75}'),
      a('Oslo is at -3 °C; Lima is at 75 °F.'),
    ],
  },
  {
    name: 'tool-multi-step',
    messages: [
      s('You can call tools.'),
      u('Find the docs about caching, then the weather in Rome.'),
      a('Let me search first.', { tool_calls: [call('call00005', 'search_docs', { query: 'caching', max_results: 2, filters: ['kv', 'disk'] })] }),
      tool('call00005', 'search_docs', '[{"title": "KV cache", "score": 0.93}]'),
      a('', { tool_calls: [call('call00006', 'get_weather', { location: 'Rome, Italy' })] }),
      tool('call00006', 'get_weather', '{"temperature": 18}'),
      a('The KV cache page is the best match, and Rome is at 18 °C.'),
      u('Thanks!'),
    ],
  },
  {
    name: 'tool-result-object',
    messages: [
      u('Weather in Kyiv?'),
      a('', { tool_calls: [call('call00007', 'get_weather', { location: 'Kyiv, Ukraine' })] }),
      tool('call00007', 'get_weather', { temperature: 4.5, condition: 'rain', alerts: [] }),
    ],
  },
  {
    name: 'reasoning-content',
    messages: [u('What is 2 + 2?'), a('The answer is 4.', { reasoning_content: 'Adding 2 and 2 gives 4.' }), u('And times 3?')],
  },
  {
    name: 'reasoning-last',
    messages: [s(SYS), u('Is 17 prime?'), a('Yes, 17 is prime.', { reasoning_content: '17 has no divisors but 1 and 17.\n' })],
  },
  {
    name: 'think-in-content',
    messages: [u('Hello'), a('<think>\nThe user greets me.\n</think>\n\nHello there!'), u('How are you?')],
  },
  {
    name: 'unicode',
    messages: [
      s('Réponds en français. 日本語も大丈夫。'),
      u('Grüße! 你好，世界 🦉🎉 — “quotes” – ½ ∑ 𝔘𝔫𝔦'),
      a('Привет! مرحبا 👋🏽 ﷺ'),
      u('ok 👍 ñ'),
    ],
  },
  { name: 'empty-strings', messages: [s(''), u(''), a(''), u('x')] },
  {
    name: 'whitespace',
    messages: [
      s('  padded system  \n'),
      u('\n\n  leading and trailing  \n\n'),
      a('\tTabbed answer\t\n'),
      u('line one\nline two\r\nline three   '),
    ],
  },
  {
    name: 'special-chars',
    messages: [
      u('Braces {{ not a tag }} {% raw %} {# no comment #} <b>&amp;</b> "double" \'single\' back\\slash \u0001 end'),
      a('JSON: {"a": [1, 2], "b": null} and a tab\there'),
      u('[INST] <|im_end|> </s>'),
    ],
  },
  { name: 'bad-order', messages: [u('First.'), u('Second, out of turn.')] },
  { name: 'assistant-first', messages: [a('I speak first.'), u('Fine.')] },
  { name: 'system-only', messages: [s(SYS)] },
  { name: 'two-systems', messages: [s(SYS), s('Always be concise.'), u('Hi')] },
  {
    name: 'long',
    messages: [s(SYS)].concat(
      ...[1, 2, 3, 4, 5, 6].map((i) => [u(`Question ${i}: what is ${i} squared?`), a(`${i * i}.`)]),
      [u('Last question: what is 7 squared?')],
    ),
  },
];

export const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the current weather for a location.',
      parameters: {
        type: 'object',
        properties: {
          location: { type: 'string', description: 'City and country, e.g. "Paris, France"' },
          unit: { type: 'string', enum: ['celsius', 'fahrenheit'], description: 'Temperature unit' },
        },
        required: ['location'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'search_docs',
      description: 'Search the documentation index — returns the best matches.',
      parameters: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'Free-text query' },
          max_results: { type: 'integer', description: 'How many results', default: 5, minimum: 1 },
          filters: { type: 'array', items: { type: 'string' }, description: 'Tags to filter by' },
        },
        required: ['query'],
      },
    },
  },
];

// Command R v01's tool_use template takes Cohere's own tool shape
export const cohereTools = [
  {
    name: 'internet_search',
    description: 'Returns a list of relevant document snippets for a textual query retrieved from the internet',
    parameter_definitions: {
      query: { description: 'Query to search the internet with', type: 'str', required: true },
      max_results: { description: 'How many snippets to return', type: 'int', required: false },
    },
  },
  {
    name: 'directly_answer',
    description: 'Calls a standard (un-augmented) AI chatbot to generate a response given the conversation history',
    parameter_definitions: {},
  },
];

export const documents = [
  { title: 'Tall penguins', text: 'Emperor penguins are the tallest growing up to 122 cm in height.' },
  { title: 'Penguin habitats', text: 'Emperor penguins only live in Antarctica.' },
];

// ---- construct templates ----
const M0 = [s('Be brief.'), u('Hi there'), a('Hello!'), u('Bye')];
const M1 = [u('Only one message')];
const tree = { a: ['x', { b: 'y' }], c: 'z' };
const people = [
  { name: 'Ann', age: 31, tags: ['x'], meta: { team: 'red' } },
  { name: 'bob', age: 25, tags: [], meta: { team: 'blue' } },
  { name: 'Cid', age: 40, meta: { team: 'red' }, active: true },
];
// a construct template and its contexts (messages M0 unless given)
const c = (name, src, ctxs = [{ name: 'M0' }]) => ({ name, src, ctxs: ctxs.map((x) => ({ messages: M0, ...x })) });

export const constructs = [
  // for loops
  c('for/loop-vars', String.raw`{% for m in messages %}
{{ loop.index }}/{{ loop.length }} i0={{ loop.index0 }} r={{ loop.revindex }} r0={{ loop.revindex0 }} f={{ loop.first }} l={{ loop.last }} {{ m.role }}
{% endfor %}`, [{ name: 'M0' }, { name: 'one', messages: M1 }]),
  c('for/else', '{% for x in xs %}[{{ x }}]{% else %}empty{% endfor %}', [
    { name: 'empty', vars: { xs: [] } },
    { name: 'two', vars: { xs: [1, 'b'] } },
  ]),
  c('for/if-condition', "{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.role }}{% if not loop.last %},{% endif %}{% endfor %}|{% for x in xs if x is odd %}{{ x }}{% else %}none{% endfor %}", [
    { name: 'M0', vars: { xs: [1, 2, 3, 4, 5] } },
    { name: 'no-odd', vars: { xs: [2, 4] } },
  ]),
  c('for/tuple-unpack', '{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{% for k, v in d|items %}{{ k }}{% endfor %}|{% for a, b in pairs %}{{ a }}-{{ b }} {% endfor %}', [
    { name: 'mixed', vars: { d: { a: 1, b: 'two', c: [1, 2], 'd e': { f: 3 } }, pairs: [[1, 'x'], ['y', 2]] } },
    { name: 'empty', vars: { d: {}, pairs: [] } },
  ]),
  c('for/over-dict-and-range', '{% for k in d %}{{ k }},{% endfor %}|{% for i in range(3) %}{{ i }}{% endfor %}|{% for i in range(1, 10, 3) %}{{ i }},{% endfor %}|{% for i in range(5, 0, -2) %}{{ i }}{% endfor %}|{{ range(4)|list }}', [
    { name: 'dict', vars: { d: { zeta: 1, alpha: 2, mid: 3 } } },
  ]),
  c('for/previtem-nextitem', "{% for x in xs %}{{ loop.previtem|default('^') }}<{{ x }}>{{ loop.nextitem|default('$') }} {% endfor %}", [
    { name: 'three', vars: { xs: ['a', 'b', 'c'] } },
    { name: 'one', vars: { xs: ['solo'] } },
  ]),
  c('for/nested-outer-loop', "{% for a in [1, 2] %}{% set outer = loop %}{% for b in ['x', 'y'] %}{{ outer.index }}{{ loop.index }}{{ a }}{{ b }}{% if outer.last and loop.last %}!{% endif %} {% endfor %}{% endfor %}"),
  c('for/break-continue', '{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 5 %}{% break %}{% endif %}{{ x }}{% endfor %}|{% for m in messages %}{% if m.role == "assistant" %}{% break %}{% endif %}{{ m.role }} {% endfor %}'),
  c('for/scoping', '{% set x = 1 %}{% for m in messages %}{% set x = x + 1 %}{% endfor %}{{ x }}|{% for m in messages %}{% set inner = m.role %}{% endfor %}[{{ inner }}]|{% if true %}{% set y = 2 %}{% endif %}{{ y }}'),
  c('refused/loop-cycle', "{% for m in messages %}{{ loop.cycle('odd', 'even') }}{% endfor %}"),

  // if
  c('if/elif-else', String.raw`{% for m in messages %}
{% if m.role == 'system' %}S{% elif m.role == 'user' %}U{% elif m.role == 'assistant' %}A{% else %}?{% endif %}
{% endfor %}`, [{ name: 'M0' }, { name: 'odd-role', messages: [{ role: 'tool', content: 'x' }, u('y')] }]),
  c('if/truthiness', "{% if xs %}xs{% endif %}|{% if not ys %}!ys{% endif %}|{% if str %}str{% endif %}|{% if estr %}estr{% else %}!estr{% endif %}|{% if d %}d{% endif %}|{% if ed %}ed{% else %}!ed{% endif %}|{% if zero %}0{% else %}!0{% endif %}|{% if nul %}n{% else %}!n{% endif %}|{% if missing %}m{% else %}!m{% endif %}|{% if 0.0 %}f{% else %}!f{% endif %}", [
    { name: 'mixed', vars: { xs: [0], ys: [], str: 'a', estr: '', d: { k: 0 }, ed: {}, zero: 0, nul: null } },
  ]),

  // set
  c('set/block', '{% set greeting %}Hello {{ name }}, {{ messages|length }} messages{% endset %}[{{ greeting }}]{% set empty %}{% endset %}[{{ empty }}]{{ greeting|length }}', [
    { name: 'name', vars: { name: 'Ada' } },
  ]),
  c('set/tuple-and-reassign', "{% set a, b = 1, 'two' %}{{ a }}-{{ b }}{% set a = a + 10 %}|{{ a }}{% set xs = [1] %}{% set xs = xs + [2] %}|{{ xs|length }}"),

  // namespace
  c('namespace/loop-counter', "{% set ns = namespace(count=0, names=[], last=none) %}{% for m in messages %}{% set ns.count = ns.count + 1 %}{% set ns.names = ns.names + [m.role] %}{% set ns.last = m.content %}{% endfor %}{{ ns.count }} {{ ns.names|join(',') }} {{ ns.last }}", [
    { name: 'M0' }, { name: 'one', messages: M1 },
  ]),
  c('namespace/found-flag', "{% set ns = namespace(found=false, sys='') %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.found = true %}{% set ns.sys = ns.sys + m.content %}{% endif %}{% endfor %}{% if ns.found %}sys=[{{ ns.sys }}]{% else %}no system{% endif %}", [
    { name: 'M0' }, { name: 'one', messages: M1 },
  ]),

  // macros
  c('macro/defaults-kwargs', "{% macro tag(name, cls='x', close=true) %}<{{ name }} class=\"{{ cls }}\">{% if close %}</{{ name }}>{% endif %}{% endmacro %}{{ tag('b') }}{{ tag('i', cls='y') }}{{ tag('p', close=false) }}{{ tag(name='q', cls='z') }}{{ tag('s', 'w', false) }}"),
  c('macro/recursion', "{% macro walk(n, d) %}{% if n is mapping %}{% for k, v in n|items %}({{ d }}:{{ k }}{{ walk(v, d + 1) }}){% endfor %}{% elif n is string %}={{ n }}{% else %}{% for x in n %}[{{ walk(x, d + 1) }}]{% endfor %}{% endif %}{% endmacro %}{{ walk(tree, 0) }}", [
    { name: 'tree', vars: { tree } },
  ]),
  c('macro/caller', "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('div') %}inner {{ 1 + 1 }} {{ messages|length }}{% endcall %}{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}|{% call(x) each([1, 2, 3]) %}<{{ x * 10 }}>{% endcall %}"),
  c('macro/in-expressions', "{% macro up(s) %}{{ s|upper }}{% endmacro %}{{ up('a') ~ up('b') }}|{{ up(messages[1].content) }}|{{ up is callable }}|{% set r = up('q') %}{{ r }}"),

  // filters
  c('filter/string-basics', "[{{ s|trim }}]|{{ s|upper }}|{{ s|lower }}|{{ s|replace('o', '0') }}|{{ s|replace('l', 'L', 1) }}|{{ 'hello big world'|title }}|{{ 'hello world'|capitalize }}|{{ s|length }}", [
    { name: 'ascii', vars: { s: '  Hello World  ' } },
    { name: 'latin', vars: { s: ' Éco ñandú Öl ' } },
  ]),
  c('filter/tojson', '{{ v|tojson }}', [
    { name: 'nested', vars: { v: { s: 'a "q" \\ b/c\n\t\u0001 é 中 🦉', n: [1, 2.5, -3, 0], t: true, f: false, z: null, e: [], o: {}, deep: { x: [{ y: 'z' }] } } } },
    { name: 'string', vars: { v: 'just "a" string\n' } },
    { name: 'list', vars: { v: [1, 'two', [3], { four: 4 }] } },
  ]),
  c('filter/tojson-messages', '{{ messages|tojson }}', [{ name: 'M0' }, { name: 'tools', messages: [u('x'), a(null, { tool_calls: [call('call00001', 'f', { k: [1, { z: 'é' }] })] })] }]),
  c('filter/tojson-options', "{{ v|tojson(indent=2) }}\n--\n{{ v|tojson(indent=4) }}\n--\n{{ v|tojson(sort_keys=true) }}\n--\n{{ v|tojson(separators=(',', ':')) }}\n--\n{{ {'k': 'é 中'}|tojson(ensure_ascii=true) }}", [
    { name: 'nested', vars: { v: { zed: [1, { b: [], a: {} }], alpha: 'x', mid: { q: null } } } },
    { name: 'empty', vars: { v: [] } },
  ]),
  c('filter/tojson-numbers', "{{ 2.5|tojson }} {{ 3|tojson }} {{ {'f': 1.5, 'g': 2.0, 'i': 7}|tojson }} {{ [true, false, none]|tojson }} {{ 'x'|tojson }}"),
  c('filter/length-items-join', "{{ xs|length }} {{ 'abc'|length }} {{ d|length }} {{ d|items|list|length }} [{{ xs|join(', ') }}] [{{ xs|join }}] [{{ ['a', 'b']|join('-') }}] [{{ 'abc'|join('.') }}] [{{ []|join(',') }}]", [
    { name: 'ints', vars: { xs: [1, 2, 3], d: { a: 1, b: 2 } } },
    { name: 'strs', vars: { xs: ['x', 'y'], d: {} } },
  ]),
  c('filter/default', "[{{ missing|default('d') }}] [{{ ''|default('d') }}] [{{ ''|default('d', true) }}] [{{ 0|default('z', true) }}] [{{ []|default('e', boolean=true) }}] [{{ present|default('p') }}] [{{ messages[0].nope|default('no attr') }}]", [
    { name: 'vars', vars: { present: 'here' } },
  ]),
  c('filter/selectattr-rejectattr-map', "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|join('|') }} / {{ messages|rejectattr('role', 'equalto', 'system')|list|length }} / {{ people|selectattr('active')|map(attribute='name')|join(',') }} / {{ people|selectattr('tags', 'defined')|list|length }} / {{ people|rejectattr('active')|map(attribute='name')|join(',') }} / {{ people|map(attribute='meta.team')|join(',') }} / {{ people|map(attribute='nick', default='?')|join(',') }} / {{ people|selectattr('name', 'eq', 'bob')|map(attribute='age')|first }}", [
    { name: 'people', vars: { people } },
  ]),
  c('filter/first-last-list-conversions', "{{ xs|first }} {{ xs|last }} {{ xs|list }} {{ 42|string }} {{ '42'|int + 1 }} {{ '2.5'|float }} {{ (-3)|abs }} {{ (-2.5)|abs }} {{ 3.7|int }} {{ 5|float }} {{ 'abc'|int }} {{ 'x'|float }} {{ '7'|int(3) }} {{ 'q'|int(default=9) }} {{ true|int }}", [
    { name: 'ints', vars: { xs: [3, 1, 2] } },
  ]),
  c('filter/sort-unique-reverse-dictsort', "{{ [3, 1, 2, 3, 1]|unique|join(',') }} | {{ xs|sort|join(',') }} | {{ ['b', 'A', 'c']|sort|join(',') }} | {{ xs|sort(reverse=true)|join(',') }} | {{ people|sort(attribute='age')|map(attribute='name')|join(',') }} | {{ people|sort(attribute='name')|map(attribute='age')|join(',') }} | {% for k, v in d|dictsort %}{{ k }}{{ v }}{% endfor %} | {% for k, v in d|dictsort(reverse=true) %}{{ k }}{% endfor %} | {{ xs|reverse|join(',') }}", [
    { name: 'data', vars: { xs: [5, 3, 9, 1], d: { b: 2, a: 1, c: 3 }, people } },
  ]),
  c('filter/indent', '[{{ t|indent }}]\n[{{ t|indent(2) }}]\n[{{ t|indent(2, true) }}]\n[{{ t|indent(width=3, first=true, blank=true) }}]', [
    { name: 'blank-lines', vars: { t: 'one\ntwo\n\nfour' } },
    { name: 'single', vars: { t: 'solo' } },
  ]),
  c('filter/safe-and-filter-block', "{{ '<b>&amp;</b>'|safe }}|{% filter upper %}hello {{ messages[1].content }}{% endfilter %}|{% filter replace('a', '4') %}banana{% endfilter %}"),
  c('filter/chains', "{{ messages|map(attribute='role')|unique|list|join('+')|upper }} {{ (messages|last).content|lower|replace('b', 'B') }} {{ messages|length > 3 }}"),
  ...['count', 'sum', 'min', 'max', 'wordcount', 'round', 'center', 'wordwrap', 'urlencode', 'striptags', 'xmlattr', 'batch(2)', 'slice(2)', "select('odd')", "reject('odd')", "format('x')", 'truncate(3)', 'dictsort', 'attr("a")'].map((f) =>
    c(`refused/filter-${f.replace(/[^a-z]/g, '')}`, `{{ [1, 2, 3]|${f} }}`)),

  // tests
  c('test/types', '{% for v in values %}{{ v is defined }},{{ v is none }},{{ v is string }},{{ v is mapping }},{{ v is integer }},{{ v is boolean }},{{ v is sequence }},{{ v is true }},{{ v is false }},{{ v is callable }};{% endfor %}', [
    { name: 'values', vars: { values: ['s', 1, 2.5, true, false, null, [1], { a: 1 }, '', 0, []] } },
  ]),
  c('test/number-iterable', '{% for v in values %}{{ v is number }}{{ v is iterable }};{% endfor %}', [
    { name: 'values', vars: { values: ['s', 1, 2.5, null, [1], ''] } },
  ]),
  c('test/defined-undefined', "{{ missing is defined }} {{ missing is undefined }} {{ messages[0].nope is defined }} {{ messages[0].role is defined }} {{ none is none }} {{ missing is not defined }} {{ raise_exception is callable }} {{ range is callable }} {{ namespace is callable }}"),
  c('test/odd-even-case', "{% for i in range(5) %}{{ i is odd }}/{{ i is even }} {% endfor %}{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }} {{ 'aBc' is upper }} {{ 'a1' is lower }}"),
  c('test/is-not-and-in', "{{ 1 is not string }} {{ 'a' is not string }} {{ 'a' in 'abc' }} {{ 'z' not in 'abc' }} {{ 2 in [1, 2] }} {{ 5 not in [1, 2] }} {{ 'role' in messages[0] }} {{ 'x' in d }} {{ 'x' not in d }} {{ 'b' in ['a', 'b'] }} {{ 'q' in missing }}", [
    { name: 'dict', vars: { d: { x: 1 } } },
  ]),
  ...['divisibleby(3)', 'divisibleby 3', 'equalto 3', 'eq(3)', 'in [3]', 'sameas 3', 'float', 'ge 2', 'escaped'].map((t) =>
    c(`refused/test-${t.replace(/[^a-z0-9]/g, '')}`, `{{ 3 is ${t} }}`)),

  // string methods
  c('method/string', "{{ s.startswith('He') }} {{ s.startswith(('x', 'He')) }} {{ s.endswith('!') }} {{ s.endswith(('x', 'y')) }} [{{ s.strip() }}] [{{ s.lstrip() }}] [{{ s.rstrip() }}] {{ s.upper() }} {{ s.lower() }} {{ s.replace('l', 'L') }} {{ s.replace('l', 'L', 1) }}", [
    { name: 'padded', vars: { s: 'Hello, world!' } },
    { name: 'spaces', vars: { s: '  Hello  world!  ' } },
  ]),
  c('method/split', "{{ s.split()|join('|') }} / {{ s.split(',')|join('|') }} / {{ s.split(',', 1)|join('|') }} / {{ s.split(',')|length }} / {{ s.split(' ', 2)|join('|') }}", [
    { name: 'csv', vars: { s: 'a, b,,c d' } },
    { name: 'ws', vars: { s: '  many   spaces\there\n' } },
  ]),
  c('method/title-capitalize', "{{ s.title() }} | {{ s.capitalize() }} | {{ s|title }} | {{ s|capitalize }}", [
    { name: 'lower', vars: { s: 'the quick brown fox' } },
  ]),
  c('method/strip-with-chars', "[{{ s.strip('\\n') }}] [{{ s.lstrip('\\n') }}] [{{ s.rstrip('\\n') }}]", [
    { name: 'newlines', vars: { s: '\n\nanswer\n' } },
  ]),
  c('refused/method-join', "{{ ', '.join(['a', 'b']) }}"),
  c('refused/method-format', "{{ '{} and {}'.format(1, 2) }}"),
  c('refused/method-count', "{{ 'banana'.count('a') }}"),

  // dict methods
  c('method/dict', "{{ d.keys()|join(',') }} {{ d.values()|list|length }} {{ d.get('a') }} {{ d.get('zz', 'dflt') }} {{ d.get('zz') is none }} {% for k, v in d.items() %}{{ k }}:{{ v }} {% endfor %}{{ d['a'] }} {{ d.a }}", [
    { name: 'dict', vars: { d: { a: 1, b: 'x', c: [1] } } },
  ]),

  // slicing and subscripts
  c('slice/strings', '{{ s[::-1] }}|{{ s[1:] }}|{{ s[:-1] }}|{{ s[1:8:2] }}|{{ s[-3:] }}|{{ s[::2] }}|{{ s[100:] }}|{{ s[2:2] }}', [
    { name: 'ascii', vars: { s: 'Hello, world' } },
    { name: 'unicode', vars: { s: 'héllo wörld 🦉🎉 ok' } },
  ]),
  c('slice/index', '{{ s[0] }}{{ s[-1] }} {{ xs[0] }}{{ xs[-1] }} {{ xs[1] }}', [
    { name: 'bmp', vars: { s: 'ñandú', xs: ['a', 'b', 'c'] } },
  ]),
  c('slice/lists', "{{ xs[::-1]|join(',') }} {{ xs[1:]|join(',') }} {{ xs[:-1]|join(',') }} {{ xs[1:5:2]|join(',') }} {{ xs[-2:]|join(',') }} {{ xs[10:]|length }} {{ messages[1:]|length }} {{ messages[-1].content }} {{ messages[:1][0].role }}", [
    { name: 'six', vars: { xs: [0, 1, 2, 3, 4, 5] } },
  ]),
  c('subscript/nested', "{{ messages[0].content }}|{{ messages[0]['content'] }}|{{ messages[-1]['role'] }}|{{ cfg.a.b[1].c }}|{{ cfg['a']['b'][1]['c'] }}|[{{ messages[0].missing }}]|[{{ cfg.a.nope }}]|{{ cfg['we ird'] }}|{{ cfg.a['b'][0] }}", [
    { name: 'cfg', vars: { cfg: { a: { b: ['first', { c: 'deep' }] }, 'we ird': 'key' } } },
  ]),

  // operators
  c('op/arithmetic', '{{ 7 + 3 }} {{ 7 - 10 }} {{ 6 * 7 }} {{ 7 / 2 }} {{ 8 / 2 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 2 ** 0.5 }} {{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 10 - 2.5 }} {{ -7 // 2 }} {{ (1 + 2) * 3 }} {{ 2 + 3 * 4 }} {{ n * 2 }} {{ n / 4 }} {{ f * 2 }} {{ -n }} {{ 2 ** 3 ** 2 }}', [
    { name: 'vars', vars: { n: 5, f: 0.25 } },
  ]),
  c('op/concat', "{{ 'a' ~ 1 ~ 2.5 ~ 'b' }} {{ 'x' + 'y' }} {{ [1] + [2, 3] }} {{ n ~ '' }} {{ messages[1].role ~ ':' ~ messages[1].content }} {{ 'a' 'b' \"c\" }}", [
    { name: 'vars', vars: { n: 12 } },
  ]),
  c('op/compare', "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 4 }} {{ 3 >= 3 }} {{ 1 == 1 }} {{ 1 != 2 }} {{ 'a' == 'a' }} {{ 'a' != 'b' }} {{ 1 == 1.0 }} {{ 2.5 > 2 }} {{ n == 3 }} {{ messages|length >= 4 }}", [
    { name: 'vars', vars: { n: 3 } },
  ]),
  c('op/logic', "{{ true and false }} {{ true or false }} {{ not true }} {{ not (1 == 2) and (2 > 1 or false) }} {{ 0 or 'fallback' }} {{ 'a' and 'b' }} {{ none or 'n' }} {{ [] or 'empty' }} {{ 'x' if not missing and 1 else 'y' }} {{ not missing }} {{ not messages }}"),
  c('op/ternary', "{{ 'yes' if flag else 'no' }}|{{ 'only' if flag }}|{{ 'x' if not flag }}|{{ (1 if flag else 2) + 1 }}|{{ 'a' if flag else 'b' if other else 'c' }}", [
    { name: 'true', vars: { flag: true, other: false } },
    { name: 'false', vars: { flag: false, other: true } },
  ]),
  c('refused/op-string-repeat', "{{ 'ab' * 2 }}"),
  c('refused/op-string-less', "{{ 'a' < 'b' }}"),
  c('refused/op-chained-compare', '{{ 1 < 2 < 3 }}'),
  c('refused/call-undefined', '{{ dict(a=1) }}'),

  // whitespace control, comments, raw, generation
  c('ws/control', String.raw`<start>
  {%- for m in messages %}
    [{{- m.role -}}]   
  {%- endfor %}
  {{ 'kept indent' }}
{{- '|' -}}
  after
  {#- comment -#}
  end
{% if true %}
    indented line
{% endif %}
  {% if true %}lstripped{% endif %}
tail`, [{ name: 'M0' }]),
  c('ws/trim-blocks', '{% if true %}\nA\n{% endif %}\n{% for x in [1, 2] %}\n{{ x }}\n{% endfor %}\n{# c #}\nB\n{% set y = 1 %}\n\n{{ y }}\n\n', [{ name: 'M0' }]),
  c('ws/trailing-newline', 'one{{ 1 }}\n', [{ name: 'M0' }]),
  c('comment/inline', 'a{# comment with {{ braces }} and %} inside #}b {#- trimmed -#}  c{# multi\nline #}d'),
  c('generation/tag', '{% for m in messages %}{% if m.role == "assistant" %}{% generation %}<{{ m.content }}>{% endgeneration %}{% else %}{{ m.role }}{% endif %}{% endfor %}'),
  c('refused/print-tuple', "{{ (1, 'a') }}"),
  c('refused/filter-default-bare', '[{{ missing|default }}]'),
  c('refused/for-over-undefined', '{% for x in missing %}{{ x }}{% endfor %}done'),
  c('refused/raw', '{% raw %}{{ not rendered }}{% endraw %}'),
  c('refused/do', '{% set xs = [] %}{% do xs.append(1) %}{{ xs }}'),

  // raise_exception
  c('raise/conditional', "{% if messages|length > 1 %}{{ raise_exception('too many messages: ' ~ messages|length) }}{% endif %}ok", [
    { name: 'M0' }, { name: 'one', messages: M1 },
  ]),
  c('raise/unconditional', "before{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}after"),

  // literals, escapes, rendering of values
  c('literal/escapes', String.raw`{{ 'line1\nline2\ttab \'q\' "dq" \\ back' }}|{{ "it's \"x\"" }}|{{ '\u00e9\u4e2d' }}|{{ '\x41\x42' }}|{{ 'é 🦉' }}`),
  c('literal/containers', "{{ [1, 'two', 3.0, none, true] }} {{ {'a': 1, 'b': [true, none]} }} {{ {'k': 'v'}['k'] }} {{ [10, 20, 30][1] }} {{ ('a', 'b')[0] }} {{ [] }} {{ {} }} {{ [[1, 2], {'x': []}] }} {{ {'a': 1,} }} {{ [1, 2,] }}"),
  c('literal/rendered-vars', '{{ xs }} {{ d }} {{ messages[0] }}', [
    { name: 'values', vars: { xs: [1, 'a', null, true, 2.5], d: { k: 'v', n: { m: [] } } } },
  ]),
  c('literal/numbers', '{{ 1.0 }} {{ 2.5 }} {{ 100 }} {{ 12345678901234 }} {{ -0.5 }} {{ 1.0 * 3 }} {{ 10 / 4 }} {{ 3 / 3 }} {{ 1.50 }} {{ n }} {{ f }} {{ big }} {{ neg }} {{ n + 0.0 }} {{ 0.1 * 3 }} {{ 1 / 3 }}', [
    { name: 'vars', vars: { n: 42, f: 0.125, big: 9007199254740991, neg: -17 } },
  ]),
  c('literal/booleans-none', '{{ true }} {{ false }} {{ True }} {{ False }} [{{ none }}] [{{ None }}] {{ flag }} [{{ nothing }}] {{ true|string }} {{ false|string }} {{ [true, none] }} {{ flag ~ "" }} [{{ missing }}] {{ 1 == 1 }}', [
    { name: 'vars', vars: { flag: true, nothing: null } },
  ]),
  c('context/special-vars', "[{{ bos_token }}] [{{ eos_token }}] [{{ add_generation_prompt }}] [{{ tools is defined }}] {% if add_generation_prompt %}<gen>{% endif %}", [
    { name: 'plain' },
    { name: 'agp', agp: true },
  ]),
];
