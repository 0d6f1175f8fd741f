// Generates chat_template_goldens.json: conversations rendered by each model's own Jinja chat template with an
// independent Jinja implementation (@huggingface/jinja) and tokenized by an independent tokenizer
// implementation (@lenml/tokenizers, a port of transformers.js). LlamaBoard's templates must produce exactly
// these token ids (LlamaBoard.Tests/Engine/Data/Templates/TemplateGoldenTests.cs).
//
// Run from the repository root:   node LlamaBoard.Tests/Engine/Data/Templates/Goldens/generate.mjs
// The npm packages are installed into .cache/template-goldens (git-ignored); nothing third-party is committed.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../../../..");
const work = path.join(root, ".cache", "template-goldens");

// The tokenizer packages and versions are those the tests fetch (LlamaBoard.Tests/Fixtures/tokenizers/packages.json),
// so the C# test encodes with exactly the files these goldens were made from.
const JINJA = "@huggingface/jinja@0.5.11";
const pinned = JSON.parse(readFileSync(path.join(root, "LlamaBoard.Tests", "Fixtures", "tokenizers", "packages.json"), "utf8")).tokenizers;
const TEMPLATES = { qwen3: "qwen3", llama3: "llama3", llama2: "llama2", gemma3: "gemma3" };
const MODELS = Object.fromEntries(
  Object.entries(TEMPLATES).map(([model, template]) => [model, { ...pinned[model], template }]));

// The Llama 2 tokenizer package is the base model's and ships no chat_template; this is the chat template of
// Meta's Llama-2-7b-chat-hf tokenizer_config.json (default system prompt switched off, as in that file).
const LLAMA2_CHAT_TEMPLATE =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}" +
  "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}" +
  "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if loop.index0 == 0 and system_message != false %}" +
  "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}" +
  "{% else %}{% set content = message['content'] %}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

function install() {
  const wanted = [JINJA, ...Object.values(MODELS).map((m) => `${m.package}@${m.version}`)];
  const marker = path.join(work, "installed.json");
  if (existsSync(marker) && readFileSync(marker, "utf8") === JSON.stringify(wanted)) return;
  mkdirSync(work, { recursive: true });
  if (!existsSync(path.join(work, "package.json"))) writeFileSync(path.join(work, "package.json"), '{"private": true}\n');
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--silent", ...wanted], { cwd: work, stdio: "inherit" });
  writeFileSync(marker, JSON.stringify(wanted));
}

const text = (s) => (typeof s === "string" ? s : s?.content ?? null);

// Conversations: multi-turn with and without a system prompt, non-ASCII text, and (Qwen 3) tools.
const system = { role: "system", content: "You are a concise assistant. Answer in one sentence." };
const history = [
  { role: "user", content: "What is the capital of France?" },
  { role: "assistant", content: "The capital of France is Paris." },
  { role: "user", content: "And how many people live there? 请用数字回答。" },
  { role: "assistant", content: "About 2.1 million people live in Paris itself — 约210万。" },
];
const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the current weather for a city.",
    parameters: { type: "object", properties: { city: { type: "string", description: "The city name" } }, required: ["city"] },
  },
};
const toolChat = [
  { role: "user", content: "What's the weather in Oslo?" },
  { role: "assistant", content: "", tool_calls: [{ type: "function", function: { name: "get_weather", arguments: { city: "Oslo" } } }] },
  { role: "tool", content: '{"temperature": 4, "condition": "light snow"}' },
  { role: "assistant", content: "It is 4 °C with light snow in Oslo." },
];

function cases(model) {
  const list = [
    { name: "multi_turn", messages: history, add_generation_prompt: false },
    { name: "multi_turn_system", messages: [system, ...history], add_generation_prompt: false },
    { name: "prompt", messages: history.slice(0, 3), add_generation_prompt: true },
    { name: "prompt_system", messages: [system, ...history.slice(0, 3)], add_generation_prompt: true },
  ];
  if (model === "qwen3") {
    list.push({ name: "prompt_no_thinking", messages: history.slice(0, 3), add_generation_prompt: true, enable_thinking: false });
    list.push({ name: "tools", messages: [system, ...toolChat], tools: [weatherTool], add_generation_prompt: false });
  }
  return list;
}

async function main() {
  install();
  const require = createRequire(path.join(work, "package.json"));
  const { Template } = await import(pathToFileURL(require.resolve("@huggingface/jinja")).href);
  const goldens = { generator: "LlamaBoard.Tests/Engine/Data/Templates/Goldens/generate.mjs", jinja: JINJA, models: {} };
  for (const [model, spec] of Object.entries(MODELS)) {
    const pkg = await import(pathToFileURL(require.resolve(spec.package)).href);
    const config = JSON.parse(readFileSync(path.join(work, "node_modules", spec.package, "models", "tokenizer_config.json"), "utf8"));
    const tokenizer = pkg.fromPreTrained();
    const source = config.chat_template ?? (model === "llama2" ? LLAMA2_CHAT_TEMPLATE : null);
    if (!source) throw new Error(`${spec.package} has no chat_template`);
    const template = new Template(source);
    const rendered = [];
    for (const c of cases(model)) {
      const context = {
        messages: c.messages,
        add_generation_prompt: c.add_generation_prompt,
        bos_token: text(config.bos_token) ?? "",
        eos_token: text(config.eos_token) ?? "",
      };
      if (c.tools) context.tools = c.tools;
      if (c.enable_thinking !== undefined) context.enable_thinking = c.enable_thinking;
      const out = template.render(context);
      const ids = tokenizer.encode(out, { add_special_tokens: false });
      rendered.push({ ...c, text: out, ids });
    }
    // Some templates (the original Llama 3 one) append the assistant header whether or not a generation prompt
    // is asked for; the test then expects that header after a finished conversation.
    const context = { messages: history, bos_token: text(config.bos_token) ?? "", eos_token: text(config.eos_token) ?? "" };
    const ignoresGenerationPrompt =
      template.render({ ...context, add_generation_prompt: true }) === template.render({ ...context, add_generation_prompt: false });
    goldens.models[model] = {
      package: `${spec.package}@${spec.version}`,
      template: spec.template,
      ignores_add_generation_prompt: ignoresGenerationPrompt,
      chat_template_source: config.chat_template ? "tokenizer_config.json" : "Llama-2-7b-chat-hf tokenizer_config.json (embedded in generate.mjs)",
      cases: rendered,
    };
  }
  const out = path.join(here, "chat_template_goldens.json");
  writeFileSync(out, JSON.stringify(goldens, null, 1) + "\n");
  console.log(`wrote ${path.relative(root, out)}`);
}

await main();
