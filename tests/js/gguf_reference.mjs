// gguf_reference.mjs: every GGUF in ../shared read by owl (`owl inspect --json --all`)
// and by Hugging Face's independent parser (@huggingface/gguf); metadata and tensor
// infos must agree exactly (f32 values to f32 precision).
import { gguf } from "@huggingface/gguf";
import { execFileSync } from "node:child_process";
import { readdirSync, existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const owl = resolve(process.env.OWL_BIN || "build/owl");
const shared = resolve(process.env.OWL_SHARED || "../shared");
if (!existsSync(join(shared, "README.md"))) {
  console.error(`ground truth not found at ${shared}`);
  process.exit(3);
}
const files = [];
for (const dir of ["models/stories260K", "models/llama-2-tiny-random", "vocab"])
  for (const f of readdirSync(join(shared, dir))) if (f.endsWith(".gguf")) files.push(join(shared, dir, f));
for (const c of readdirSync(join(shared, "reference"))) {
  const p = join(shared, "reference", c, "model.gguf");
  if (existsSync(p)) files.push(p);
}

function same(a, b) {
  if (typeof b === "bigint") b = Number(b);
  if (typeof a === "number" && typeof b === "number")
    return a === b || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  // @huggingface/gguf decodes strings with TextDecoder, which drops a leading
  // byte-order mark (Llama 2's token 30143 is U+FEFF); owl keeps the bytes.
  if (typeof a === "string" && a.startsWith("\uFEFF")) return a === b || a.slice(1) === b;
  return a === b;
}

let passed = 0, failed = 0;
for (const file of files) {
  const problems = [];
  const ours = JSON.parse(execFileSync(owl, ["inspect", "--json", "--all", file], { maxBuffer: 1 << 30 }).toString());
  const ref = await gguf(file, { allowLocalFile: true });
  if (ours.gguf_version !== ref.metadata.version) problems.push(`version ${ours.gguf_version} vs ${ref.metadata.version}`);
  const refKeys = Object.keys(ref.metadata).filter((k) => !["version", "tensor_count", "kv_count"].includes(k));
  const ourKeys = Object.keys(ours.metadata);
  if (refKeys.length !== ourKeys.length) problems.push(`${ourKeys.length} metadata keys vs ${refKeys.length}`);
  for (const k of refKeys) if (!same(ours.metadata[k], ref.metadata[k])) problems.push(`metadata ${k} differs`);
  if (ours.tensors.length !== ref.tensorInfos.length) problems.push(`${ours.tensors.length} tensors vs ${ref.tensorInfos.length}`);
  ref.tensorInfos.forEach((t, i) => {
    const o = ours.tensors[i];
    if (!o || o.name !== t.name || !same(o.shape, t.shape.map(Number)) ||
        o.offset - ours.gguf_data_offset !== Number(t.offset))
      problems.push(`tensor ${i} (${t.name}) differs`);
  });
  if (problems.length) {
    failed++;
    console.log(`FAIL ${file}: ${problems.slice(0, 5).join("; ")}`);
  } else passed++;
}
console.log(`gguf_reference: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
