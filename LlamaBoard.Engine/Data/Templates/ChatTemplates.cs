using static LlamaBoard.Engine.Data.Templates.TemplateSlot;

namespace LlamaBoard.Engine.Data.Templates;

/// <summary>
/// The template registry: LLaMA-Factory's chat templates as plain data, by name. Defaults follow
/// LLaMA-Factory's <c>register_template</c>: user "{{content}}", assistant "{{content}}" + EOS (no EOS with
/// efficient_eos), system "{{content}}", function = the assistant's slots, observation = the user's format.
/// </summary>
public static class ChatTemplates
{
    static readonly Dictionary<string, ChatTemplate> Registry = new(StringComparer.Ordinal);

    /// <summary>Registered names in registration order.</summary>
    public static IReadOnlyList<string> Names { get; }

    /// <summary>The template called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such template; the message lists the known ones.</exception>
    public static ChatTemplate Get(string name) =>
        Registry.TryGetValue(name, out var template)
            ? template
            : throw new ArgumentException($"template '{name}' is unknown; known templates: {string.Join(", ", Names)}", nameof(name));

    /// <summary>True when <paramref name="name"/> is registered.</summary>
    public static bool Contains(string name) => Registry.ContainsKey(name);

    static ChatTemplate Define(string name, SlotFormat? user = null, SlotFormat? assistant = null, SlotFormat? system = null,
                               SlotFormat? function = null, SlotFormat? observation = null, SlotFormat? prefix = null,
                               string toolFormat = "default", string defaultSystem = "", string[]? stopWords = null,
                               bool efficientEos = false, bool replaceEos = false, TemplateKind kind = TemplateKind.Standard)
    {
        var defaultAssistant = efficientEos ? SlotFormat.Of("{{content}}") : SlotFormat.Of(Text("{{content}}"), Eos);
        var template = new ChatTemplate
        {
            Name = name,
            User = user ?? SlotFormat.Of("{{content}}"),
            Assistant = assistant ?? defaultAssistant,
            System = system ?? SlotFormat.Of("{{content}}"),
            Function = function ?? assistant ?? defaultAssistant,
            Observation = observation ?? user ?? SlotFormat.Of("{{content}}"),
            Prefix = prefix ?? SlotFormat.Empty,
            ToolFormat = toolFormat,
            DefaultSystem = defaultSystem,
            StopWords = stopWords ?? [],
            EfficientEos = efficientEos,
            ReplaceEos = replaceEos,
            Kind = kind,
        };
        Registry.Add(name, template);
        return template;
    }

    static ChatTemplates()
    {
        // Generic formats.
        Define("default",
               user: SlotFormat.Of(Text("Human: {{content}}"), Eos, Text("\nAssistant:")),
               assistant: SlotFormat.Of(Text("{{content}}"), Eos, Text("\n")),
               system: SlotFormat.Of(Text("System: {{content}}"), Eos, Text("\n")));
        Define("empty", assistant: SlotFormat.Of("{{content}}"));
        Define("alpaca",
               user: SlotFormat.Of("### Instruction:\n{{content}}\n\n### Response:\n"),
               assistant: SlotFormat.Of(Text("{{content}}"), Eos, Text("\n\n")),
               defaultSystem: "Below is an instruction that describes a task. Write a response that appropriately " +
                              "completes the request.\n\n");
        Define("vicuna",
               user: SlotFormat.Of("USER: {{content}} ASSISTANT:"),
               defaultSystem: "A chat between a curious user and an artificial intelligence assistant. The assistant " +
                              "gives helpful, detailed, and polite answers to the user's questions.");

        // ChatML family: <|im_start|>role\n … <|im_end|>\n
        var chatUser = SlotFormat.Of("<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n");
        var chatAssistant = SlotFormat.Of("{{content}}<|im_end|>\n");
        var chatSystem = SlotFormat.Of("<|im_start|>system\n{{content}}<|im_end|>\n");
        var qwenObservation = SlotFormat.Of("<|im_start|>user\n<tool_response>\n{{content}}\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
        Define("chatml", user: chatUser, assistant: chatAssistant, system: chatSystem,
               observation: SlotFormat.Of("<|im_start|>tool\n{{content}}<|im_end|>\n<|im_start|>assistant\n"),
               stopWords: ["<|im_end|>", "<|im_start|>"], replaceEos: true);
        Define("qwen", user: chatUser, assistant: chatAssistant, system: chatSystem,
               function: SlotFormat.Of("{{content}}<|im_end|>\n"), observation: qwenObservation, toolFormat: "qwen",
               defaultSystem: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
               stopWords: ["<|im_end|>"], replaceEos: true);
        Define("qwen3", user: chatUser, assistant: chatAssistant, system: chatSystem,
               function: SlotFormat.Of("{{content}}<|im_end|>\n"), observation: qwenObservation, toolFormat: "qwen",
               stopWords: ["<|im_end|>"], replaceEos: true, kind: TemplateKind.Reasoning);
        Define("qwen3_nothink", user: chatUser, assistant: chatAssistant, system: chatSystem,
               function: SlotFormat.Of("{{content}}<|im_end|>\n"), observation: qwenObservation, toolFormat: "qwen",
               stopWords: ["<|im_end|>"], replaceEos: true);
        Define("yi", user: chatUser, assistant: chatAssistant, system: chatSystem, stopWords: ["<|im_end|>"]);
        Define("smollm2", user: chatUser, assistant: chatAssistant, system: chatSystem, stopWords: ["<|im_end|>"],
               defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face.");

        // Llama family.
        // Meta's chat template writes " " + answer + " " + EOS; the space before EOS is a token of its own
        // ("▁"), which LLaMA-Factory's llama2 template leaves out. It is kept here so the tokens match the model's.
        Define("llama2",
               user: SlotFormat.Of(Bos, Text("[INST] {{content}} [/INST]")),
               assistant: SlotFormat.Of(Text("{{content}} "), Eos),
               system: SlotFormat.Of("<<SYS>>\n{{content}}\n<</SYS>>\n\n"),
               kind: TemplateKind.SystemInFirstUser);
        Define("llama3",
               user: SlotFormat.Of("<|start_header_id|>user<|end_header_id|>\n\n{{content}}<|eot_id|>" +
                                   "<|start_header_id|>assistant<|end_header_id|>\n\n"),
               assistant: SlotFormat.Of("{{content}}<|eot_id|>"),
               system: SlotFormat.Of("<|start_header_id|>system<|end_header_id|>\n\n{{content}}<|eot_id|>"),
               function: SlotFormat.Of("{{content}}<|eot_id|>"),
               observation: SlotFormat.Of("<|start_header_id|>ipython<|end_header_id|>\n\n{{content}}<|eot_id|>" +
                                          "<|start_header_id|>assistant<|end_header_id|>\n\n"),
               prefix: SlotFormat.Of(Bos), toolFormat: "llama3", stopWords: ["<|eot_id|>", "<|eom_id|>"], replaceEos: true);
        Define("mistral",
               user: SlotFormat.Of("[INST] {{content}}[/INST]"),
               assistant: SlotFormat.Of(Text(" {{content}}"), Eos),
               system: SlotFormat.Of("{{content}}\n\n"),
               function: SlotFormat.Of(Text("[TOOL_CALLS] {{content}}"), Eos),
               observation: SlotFormat.Of("[TOOL_RESULTS] {\"content\": {{content}}}[/TOOL_RESULTS]"),
               prefix: SlotFormat.Of(Bos), toolFormat: "mistral", kind: TemplateKind.SystemInFirstUser);

        // Gemma: the system prompt joins the first user turn; "model" is the assistant's role.
        var gemmaUser = SlotFormat.Of("<start_of_turn>user\n{{content}}<end_of_turn>\n<start_of_turn>model\n");
        var gemmaAssistant = SlotFormat.Of("{{content}}<end_of_turn>\n");
        var gemmaObservation = SlotFormat.Of("<start_of_turn>tool\n{{content}}<end_of_turn>\n<start_of_turn>model\n");
        Define("gemma", user: gemmaUser, assistant: gemmaAssistant, system: SlotFormat.Of("{{content}}\n\n"),
               observation: gemmaObservation, prefix: SlotFormat.Of(Bos), stopWords: ["<end_of_turn>"], replaceEos: true,
               kind: TemplateKind.SystemInFirstUser);
        Define("gemma3", user: gemmaUser, assistant: gemmaAssistant, system: SlotFormat.Of("{{content}}\n\n"),
               observation: gemmaObservation, prefix: SlotFormat.Of(Bos), stopWords: ["<end_of_turn>"], replaceEos: true,
               kind: TemplateKind.SystemInFirstUser);

        // Phi.
        Define("phi",
               user: SlotFormat.Of("<|user|>\n{{content}}<|end|>\n<|assistant|>\n"),
               assistant: SlotFormat.Of("{{content}}<|end|>\n"),
               system: SlotFormat.Of("<|system|>\n{{content}}<|end|>\n"),
               stopWords: ["<|end|>"], replaceEos: true);
        Define("phi4",
               user: SlotFormat.Of("<|im_start|>user<|im_sep|>{{content}}<|im_end|><|im_start|>assistant<|im_sep|>"),
               assistant: SlotFormat.Of("{{content}}<|im_end|>"),
               system: SlotFormat.Of("<|im_start|>system<|im_sep|>{{content}}<|im_end|>"),
               stopWords: ["<|im_end|>"], replaceEos: true);

        // DeepSeek.
        Define("deepseek",
               user: SlotFormat.Of("User: {{content}}\n\nAssistant:"),
               system: SlotFormat.Of("{{content}}\n\n"),
               prefix: SlotFormat.Of(Bos));
        Define("deepseek3",
               user: SlotFormat.Of("<｜User｜>{{content}}<｜Assistant｜>"),
               prefix: SlotFormat.Of(Bos));

        // Others.
        Define("zephyr",
               user: SlotFormat.Of(Text("<|user|>\n{{content}}"), Eos, Text("<|assistant|>\n")),
               system: SlotFormat.Of(Text("<|system|>\n{{content}}"), Eos),
               defaultSystem: "You are Zephyr, a helpful assistant.");
        Define("granite3",
               user: SlotFormat.Of("<|start_of_role|>user<|end_of_role|>{{content}}<|end_of_text|>\n" +
                                   "<|start_of_role|>assistant<|end_of_role|>"),
               assistant: SlotFormat.Of("{{content}}<|end_of_text|>\n"),
               system: SlotFormat.Of("<|start_of_role|>system<|end_of_role|>{{content}}<|end_of_text|>\n"));

        Names = [.. Registry.Keys];
    }
}
