// tokenizer_corpus.mjs: the deterministic corpus tests/js/tokenizer_reference.mjs
// feeds to owl and to Hugging Face's tokenizers. corpus(specials) returns
// >= 2,000 strings; specials are the tokenizer's special-token texts, mixed
// into look-alike strings. Same output on every run (a fixed xorshift PRNG).

const natural = [
  'The quick brown fox jumps over the lazy dog. It\'s 5 o\'clock; we\'ve been waiting.',
  'Le cœur a ses raisons que la raison ne connaît point. Ça va? Élodie arrive à 14h.',
  'Über den Wolken muss die Freiheit wohl grenzenlos sein. Straße, Maß, Äpfel.',
  '¿Dónde está la biblioteca? ¡Qué día más bonito! Mañana será otro día.',
  'Съешь же ещё этих мягких французских булок, да выпей чаю.',
  'Η γρήγορη καφέ αλεπού πηδάει πάνω από το τεμπέλικο σκυλί.',
  'כל בני האדם נולדו בני חורין ושווים בערכם ובזכויותיהם.',
  'يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق.',
  'सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता प्राप्त है।',
  'সমস্ত মানুষ স্বাধীনভাবে সমান মর্যাদা এবং অধিকার নিয়ে জন্মগ্রহণ করে।',
  'எல்லா மனிதர்களும் சுதந்திரமாகவே பிறக்கின்றனர்.',
  'มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในเกียรติศักดิ์และสิทธิ',
  'ລາວ ເປັນ ພາສາ ທີ່ ສວຍງາມ',
  'កាន់តែពិសេសអាចខលចេញ',
  '人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心。',
  '全ての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。',
  '모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다.',
  'ყველა ადამიანი იბადება თავისუფალი და თანასწორი.',
  'Մարդիկ բոլորը ծնվում են ազատ ու հավասար:',
  'ሁሉም የሰው ልጆች ሲወለዱ ነጻና በክብርና በመብትም እኩልነት ያላቸው ናቸው።',
  'Tất cả mọi người sinh ra đều được tự do và bình đẳng về nhân phẩm và quyền lợi.',
  'Wszyscy ludzie rodzą się wolni i równi pod względem swej godności i swych praw.',
  'Bütün insanlar hür, haysiyet ve haklar bakımından eşit doğarlar.',
  'ᐃᓄᐃᑦ ᐊᓂᖅᑲᐃᓪᓗᑎᒃ ᐃᓅᓯᖃᖅᑐᑦ ᐃᓱᒪᕐᓱᑎᒃ',
  'ᚠᛇᚻ᛫ᛒᛦᚦ᛫ᚠᚱᚩᚠᚢᚱ᛫ᚠᛁᚱᚪ᛫ᚷᛖᚻᚹᛦᛚᚳᚢᛗ',
];
const code = [
  'def f(x):\n    return x ** 2  # square\n\nprint(f(3))\n',
  'int main(void) {\n\tprintf("%d\\n", 42);\n\treturn 0;\n}\n',
  'const a = [1, 2, 3].map((x) => x * 2); // => [2, 4, 6]',
  '<div class="a" id=\'b\'>&amp; &lt;tag&gt;</div>',
  'SELECT * FROM t WHERE id IN (1,2,3) AND name LIKE \'%x%\';',
  '{"key": [true, false, null, 1.5e-10], "nested": {"a": "b"}}',
  'fn main() { let v: Vec<u8> = vec![0xff; 16]; println!("{:?}", v); }',
  '    if (a != b && c >= d || e <= f) { x += 1; y -= 2; z *= 3; }',
  '$ ls -la /usr/local/bin | grep -E "^d" > /dev/null 2>&1',
  'x=1;y=2\r\nz=3\r\n',
];
const emoji = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇺🇸', '🇯🇵🇫🇷', '❤️', '🧑🏿‍💻', '😶‍🌫️', '🦙', '✅', '🚀', '#️⃣', '🏴󠁧󠁢󠁳󠁣󠁴󠁿'];
const combining = ['e\u0301', 'a\u0308\u0304', 'n\u0303', '\u0915\u094d\u0937', 'Z\u0351\u036b\u0343\u036a\u0302', '\u1100\u1161\u11a8', 'o\u0328\u0301'];
const spaces = [' ', '  ', '\t', '\n', '\r\n', '\r', '\u00a0', '\u3000', '\u2003', '\n\n', ' \n ', '\t\t \n'];
const blocks = [
  [0x20, 0x7e], [0xa0, 0x24f], [0x250, 0x2ff], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff], [0x530, 0x58f],
  [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f], [0x980, 0x9ff], [0xe00, 0xe7f], [0x10a0, 0x10ff], [0x1100, 0x11ff],
  [0x1e00, 0x1eff], [0x2000, 0x206f], [0x2100, 0x214f], [0x2190, 0x21ff], [0x2200, 0x22ff], [0x2500, 0x257f],
  [0x3040, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xe000, 0xe0ff], [0xfb00, 0xfb4f], [0xfe00, 0xfe0f],
  [0xff00, 0xffef], [0x10000, 0x1007f], [0x1d400, 0x1d7ff], [0x1f300, 0x1f6ff], [0x1f900, 0x1f9ff], [0x20000, 0x2a6df],
  [0xe0000, 0xe007f], [0x10fff0, 0x10fffd],
];

export function corpus(specials = []) {
  let s = 0x9e3779b9;
  const rnd = (n) => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s % n; };
  const pick = (a) => a[rnd(a.length)];
  const out = [];
  for (const t of natural) out.push(t, t.toUpperCase(), ' ' + t, t + '\n', t.split(' ').slice(0, 3).join(' '));
  for (const c of code) out.push(c);
  for (const e of emoji) out.push(e, e + e, 'a' + e + 'b', ' ' + e, e + ' ok');
  for (const c of combining) out.push(c, 'x' + c + 'y', c.normalize('NFC'), c.normalize('NFD'));
  for (let n = 1; n <= 40; n++) {
    let d = '';
    for (let i = 0; i < n; i++) d += String(rnd(10));
    out.push(d, ' ' + d, 'x' + d, d + '.' + d.slice(0, 3), '-' + d + ',' + d);
  }
  for (const sp of spaces) for (let k = 1; k <= 6; k++) out.push(sp.repeat(k), 'a' + sp.repeat(k) + 'b', sp.repeat(k) + 'x');
  const looks = ['<s>', '</s>', '<unk>', '<|endoftext|>', '<|im_start|>', '<|begin_of_text|>', '[INST]', '<pad>', '<|eot_id|>',
                 '<|start_header_id|>', '<start_of_turn>', '<|fim_prefix|>', '<think>', '<|', '|>', '< s>', '<s >', '<<s>>', '</s'];
  for (const sp of specials.slice(0, 40)) looks.push(sp);
  for (const l of looks) out.push(l, 'x' + l + 'y', ' ' + l + ' ', l + l, l + '\n' + l, 'Hello' + l + 'world', l.toUpperCase());
  const words = ['a', 'hello', 'world', 'don\'t', 'ABC', '123', 'über', 'мир', '世界', 'x_y', 'foo.bar', ' ', '\n', '!!', '😀'];
  while (out.length < 1700) {
    const k = 1 + rnd(12);
    let t = '';
    for (let i = 0; i < k; i++) t += pick(words) + (rnd(3) ? ' ' : pick(spaces));
    out.push(t);
  }
  for (let i = 0; i < 300; i++) {
    const k = 1 + rnd(16);
    let t = '';
    for (let j = 0; j < k; j++) {
      const [lo, hi] = pick(blocks);
      t += String.fromCodePoint(lo + rnd(hi - lo + 1));
    }
    out.push(t);
  }
  for (let i = 0; i < 30; i++) {
    const w = pick(natural).replace(/\s+/g, '');
    out.push(w.repeat(1 + rnd(4)), 'a'.repeat(50 + rnd(400)), pick(['x', 'é', '世', '😀', '-', ' ']).repeat(20 + rnd(200)));
  }
  for (let i = 0; i < 40; i++) out.push(pick(natural) + pick(spaces) + pick(code) + pick(emoji) + pick(spaces) + pick(looks));
  return out;
}
