// lora_reference.mjs: an independent Llama forward pass in Hugging Face's
// conventions (transformers' LlamaForCausalLM: RMSNorm, rotate-half RoPE, GQA,
// SwiGLU, tied embeddings), in float64, straight from config.json and
// model.safetensors, with a PEFT LoRA adapter applied the way peft's
// lora.Linear does: y = W x + scaling * B (A x), scaling = lora_alpha / r
// (lora_alpha / sqrt(r) with use_rslora). Nothing here comes from owl: it
// reads the safetensors files itself and uses Hugging Face's tensor names.
//
//   node lora_reference.mjs --model HF_DIR [--adapter PEFT_DIR] --ids 1,2,3 --out F.f32
//       all positions' logits, n_ids x vocab float32 little-endian
//   node lora_reference.mjs diff A.f32 B.f32
//       prints the largest absolute difference (exit 1 if the sizes differ)
//   node lora_reference.mjs top F.f32 VOCAB K
//       the K best ids of every row, as JSON
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// ---- safetensors: u64 LE header length, JSON header, data ---------------------
function readSafetensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const base = 8 + n, tensors = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [s, e] = info.data_offsets, count = info.shape.reduce((a, b) => a * b, 1);
    const bytes = buf.subarray(base + s, base + e), out = new Float64Array(count);
    if (info.dtype === "F32") for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(4 * i);
    else if (info.dtype === "BF16") {
      const f = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) { f.setUint32(0, bytes.readUInt16LE(2 * i) << 16, true); out[i] = f.getFloat32(0, true); }
    } else if (info.dtype === "F16") for (let i = 0; i < count; i++) out[i] = half(bytes.readUInt16LE(2 * i));
    else throw new Error(`${path}: ${name}: dtype ${info.dtype} not handled`);
    if (e - s !== count * { F32: 4, F16: 2, BF16: 2 }[info.dtype]) throw new Error(`${path}: ${name}: size mismatch`);
    tensors[name] = { shape: info.shape, data: out };
  }
  return tensors;
}

function half(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

// ---- the blocks ----------------------------------------------------------------
// W is [out, in] row-major (torch's nn.Linear weight)
function matvec(W, x, nOut, nIn) {
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = 0;
    const row = o * nIn;
    for (let i = 0; i < nIn; i++) s += W[row + i] * x[i];
    y[o] = s;
  }
  return y;
}

function rmsnorm(x, w, eps) {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps), y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] * r * w[i];
  return y;
}

// transformers' apply_rotary_pos_emb: q * cos + rotate_half(q) * sin over each head,
// rotate_half(x) = cat(-x[d/2:], x[:d/2]), frequencies theta^(-2i/d) repeated for both halves
function rope(v, nHeads, hd, pos, theta) {
  for (let h = 0; h < nHeads; h++) {
    const o = h * hd;
    for (let i = 0; i < hd / 2; i++) {
      const ang = pos * Math.pow(theta, (-2 * i) / hd), c = Math.cos(ang), s = Math.sin(ang);
      const a = v[o + i], b = v[o + i + hd / 2];
      v[o + i] = a * c - b * s;
      v[o + i + hd / 2] = b * c + a * s;
    }
  }
}

const silu = (x) => x / (1 + Math.exp(-x));

// ---- the model -------------------------------------------------------------------
function forward(dir, adapterDir, ids) {
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const W = readSafetensors(join(dir, "model.safetensors"));
  const D = cfg.hidden_size, F = cfg.intermediate_size, H = cfg.num_attention_heads;
  const Hkv = cfg.num_key_value_heads ?? H, hd = cfg.head_dim ?? D / H, V = cfg.vocab_size;
  const eps = cfg.rms_norm_eps, theta = cfg.rope_theta ?? 10000;
  const get = (n) => { if (!W[n]) throw new Error(`missing ${n}`); return W[n].data; };

  // peft: base_model.model.<module>.lora_A.weight [r, in], .lora_B.weight [out, r]
  let lora = {}, alpha = 0, rslora = false;
  if (adapterDir) {
    const ac = JSON.parse(readFileSync(join(adapterDir, "adapter_config.json"), "utf8"));
    if (ac.peft_type !== "LORA") throw new Error("not a LoRA adapter");
    alpha = ac.lora_alpha; rslora = !!ac.use_rslora;
    lora = readSafetensors(join(adapterDir, "adapter_model.safetensors"));
  }
  const used = new Set();
  function linear(module, x, nOut, nIn) {
    const y = matvec(get(module + ".weight"), x, nOut, nIn);
    const A = lora[`base_model.model.${module}.lora_A.weight`], B = lora[`base_model.model.${module}.lora_B.weight`];
    if (!A !== !B) throw new Error(`${module}: only one LoRA factor`);
    if (A) {
      const r = A.shape[0];
      if (A.shape[1] !== nIn || B.shape[0] !== nOut || B.shape[1] !== r) throw new Error(`${module}: LoRA shapes`);
      const scaling = rslora ? alpha / Math.sqrt(r) : alpha / r;
      const u = matvec(A.data, x, r, nIn), d = matvec(B.data, u, nOut, r);
      for (let o = 0; o < nOut; o++) y[o] += scaling * d[o];
      used.add(module);
    }
    return y;
  }

  const emb = get("model.embed_tokens.weight");
  const head = W["lm_head.weight"] ? W["lm_head.weight"].data : emb; // tied
  const L = cfg.num_hidden_layers, T = ids.length;
  const xs = ids.map((t) => Float64Array.from(emb.subarray(t * D, (t + 1) * D)));
  const keys = [], vals = [];
  for (let l = 0; l < L; l++) { keys.push([]); vals.push([]); }
  const out = [];
  for (let t = 0; t < T; t++) {
    const x = xs[t];
    for (let l = 0; l < L; l++) {
      const p = `model.layers.${l}`;
      const h = rmsnorm(x, get(`${p}.input_layernorm.weight`), eps);
      const q = linear(`${p}.self_attn.q_proj`, h, H * hd, D);
      const k = linear(`${p}.self_attn.k_proj`, h, Hkv * hd, D);
      const v = linear(`${p}.self_attn.v_proj`, h, Hkv * hd, D);
      rope(q, H, hd, t, theta);
      rope(k, Hkv, hd, t, theta);
      keys[l].push(k); vals[l].push(v);
      const att = new Float64Array(H * hd);
      for (let hh = 0; hh < H; hh++) {
        const kv = Math.floor(hh / (H / Hkv)), sc = new Float64Array(t + 1);
        let mx = -Infinity;
        for (let s = 0; s <= t; s++) {
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[hh * hd + i] * keys[l][s][kv * hd + i];
          sc[s] = d / Math.sqrt(hd);
          mx = Math.max(mx, sc[s]);
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) { sc[s] = Math.exp(sc[s] - mx); sum += sc[s]; }
        for (let s = 0; s <= t; s++)
          for (let i = 0; i < hd; i++) att[hh * hd + i] += (sc[s] / sum) * vals[l][s][kv * hd + i];
      }
      const a = linear(`${p}.self_attn.o_proj`, att, D, H * hd);
      for (let i = 0; i < D; i++) x[i] += a[i];
      const h2 = rmsnorm(x, get(`${p}.post_attention_layernorm.weight`), eps);
      const g = linear(`${p}.mlp.gate_proj`, h2, F, D), u = linear(`${p}.mlp.up_proj`, h2, F, D);
      for (let i = 0; i < F; i++) g[i] = silu(g[i]) * u[i];
      const f = linear(`${p}.mlp.down_proj`, g, D, F);
      for (let i = 0; i < D; i++) x[i] += f[i];
    }
    out.push(matvec(head, rmsnorm(x, get("model.norm.weight"), eps), V, D));
  }
  // every factor of the adapter must have been used
  const modules = Object.keys(lora).map((n) => n.replace(/^base_model\.model\./, "").replace(/\.lora_[AB]\.weight$/, ""));
  const unused = [...new Set(modules)].filter((m) => !used.has(m));
  if (unused.length) throw new Error(`adapter modules not in the model: ${unused.slice(0, 4).join(", ")}`);
  return { logits: out, V, nAdapted: used.size };
}

// ---- command line ----------------------------------------------------------------
const args = process.argv.slice(2);
if (args[0] === "diff") {
  const a = new Float32Array(readFileSync(args[1]).buffer.slice(0)), b = new Float32Array(readFileSync(args[2]).buffer.slice(0));
  if (a.length !== b.length || !a.length) { console.error(`sizes differ: ${a.length} and ${b.length} floats`); process.exit(1); }
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  console.log(m.toExponential(3));
  process.exit(0);
}
if (args[0] === "top") { // top-k ids of every row: "top F.f32 VOCAB K" -> JSON [[id, ...], ...]
  const a = new Float32Array(readFileSync(args[1]).buffer.slice(0)), V = Number(args[2]), k = Number(args[3]);
  const rows = [];
  for (let r = 0; r < a.length / V; r++)
    rows.push([...Array(V).keys()].sort((x, y) => a[r * V + y] - a[r * V + x] || x - y).slice(0, k));
  console.log(JSON.stringify(rows));
  process.exit(0);
}
const opt = {};
for (let i = 0; i < args.length; i += 2) opt[args[i].replace(/^--/, "")] = args[i + 1];
if (!opt.model || !opt.ids || !opt.out) {
  console.error("usage: node lora_reference.mjs --model HF_DIR [--adapter PEFT_DIR] --ids 1,2,3 --out F.f32");
  process.exit(2);
}
const ids = opt.ids.split(",").map(Number);
const { logits, V, nAdapted } = forward(opt.model, opt.adapter, ids);
const f = new Float32Array(ids.length * V);
logits.forEach((row, t) => f.set(row, t * V));
writeFileSync(opt.out, Buffer.from(f.buffer));
if (opt.adapter) console.error(`reference: ${nAdapted} adapted projections`);
