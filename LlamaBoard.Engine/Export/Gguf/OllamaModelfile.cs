using System.Globalization;
using System.Text;
using LlamaBoard.Engine.Models;

namespace LlamaBoard.Engine.Export.Gguf;

/// <summary>A chat format written as an Ollama prompt template (Go template syntax) with its stop strings.</summary>
/// <param name="Name">Short name (chatml, llama3, …).</param>
/// <param name="Template">The TEMPLATE body, using Ollama's .System, .Prompt and .Response.</param>
/// <param name="Stops">Strings that end a reply.</param>
public sealed record OllamaChatFormat(string Name, string Template, IReadOnlyList<string> Stops);

/// <summary>
/// Writes an Ollama <c>Modelfile</c> next to a GGUF file: <c>FROM ./file.gguf</c>, a <c>TEMPLATE</c> in Go template
/// syntax for the model's chat format, <c>PARAMETER stop</c> lines and the sampling defaults of
/// generation_config.json. The chat format is chosen by the LLaMA-Factory <c>template</c> name when it is given,
/// else recognised from the markers of the Jinja chat template (ChatML, Llama 3, Gemma, Mistral/Llama 2, Phi-3).
/// </summary>
public static class OllamaModelfile
{
    /// <summary>The file name Ollama's <c>ollama create -f</c> expects by default.</summary>
    public const string FileName = "Modelfile";

    /// <summary>ChatML (Qwen, the built-in tiny tokenizer).</summary>
    public static readonly OllamaChatFormat ChatMl = new("chatml",
        "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}" +
        "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}" +
        "<|im_start|>assistant\n{{ .Response }}<|im_end|>\n",
        ["<|im_start|>", "<|im_end|>"]);

    /// <summary>Llama 3 headers.</summary>
    public static readonly OllamaChatFormat Llama3 = new("llama3",
        "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}" +
        "{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>{{ end }}" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>",
        ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]);

    /// <summary>Gemma turns (the system prompt is folded into the first user turn, as Gemma's template does).</summary>
    public static readonly OllamaChatFormat Gemma = new("gemma",
        "<start_of_turn>user\n{{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}<end_of_turn>\n" +
        "<start_of_turn>model\n{{ .Response }}<end_of_turn>\n",
        ["<start_of_turn>", "<end_of_turn>"]);

    /// <summary>Mistral [INST] blocks.</summary>
    public static readonly OllamaChatFormat Mistral = new("mistral",
        "[INST] {{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }} [/INST]{{ .Response }}",
        ["[INST]", "[/INST]"]);

    /// <summary>Llama 2 [INST] blocks with &lt;&lt;SYS&gt;&gt;.</summary>
    public static readonly OllamaChatFormat Llama2 = new("llama2",
        "[INST] {{ if .System }}<<SYS>>\n{{ .System }}\n<</SYS>>\n\n{{ end }}{{ .Prompt }} [/INST]{{ .Response }}",
        ["[INST]", "[/INST]", "<<SYS>>", "<</SYS>>"]);

    /// <summary>Phi-3 role tags.</summary>
    public static readonly OllamaChatFormat Phi3 = new("phi3",
        "{{ if .System }}<|system|>\n{{ .System }}<|end|>\n{{ end }}" +
        "{{ if .Prompt }}<|user|>\n{{ .Prompt }}<|end|>\n{{ end }}" +
        "<|assistant|>\n{{ .Response }}<|end|>\n",
        ["<|end|>", "<|user|>", "<|assistant|>"]);

    // LLaMA-Factory template names → formats.
    static readonly Dictionary<string, OllamaChatFormat> ByTemplateName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["chatml"] = ChatMl, ["qwen"] = ChatMl, ["qwen2"] = ChatMl, ["qwen3"] = ChatMl, ["qwen3_nothink"] = ChatMl,
        ["llama3"] = Llama3,
        ["gemma"] = Gemma, ["gemma2"] = Gemma, ["gemma3"] = Gemma,
        ["mistral"] = Mistral, ["ministral"] = Mistral,
        ["llama2"] = Llama2,
        ["phi"] = Phi3, ["phi3"] = Phi3,
    };

    /// <summary>
    /// The chat format for a LLaMA-Factory <paramref name="templateName"/> (when known), else the one whose markers
    /// the Jinja <paramref name="chatTemplate"/> uses; null when neither identifies one.
    /// </summary>
    public static OllamaChatFormat? Recognise(string? templateName, string? chatTemplate)
    {
        if (templateName is not null && ByTemplateName.TryGetValue(templateName, out var named)) return named;
        if (chatTemplate is null) return null;
        bool Has(string marker) => chatTemplate.Contains(marker, StringComparison.Ordinal);
        if (Has("<|im_start|>")) return ChatMl;
        if (Has("<|start_header_id|>")) return Llama3;
        if (Has("<start_of_turn>")) return Gemma;
        if (Has("<|user|>") && Has("<|end|>")) return Phi3;
        if (Has("<<SYS>>")) return Llama2;
        if (Has("[INST]")) return Mistral;
        return null;
    }

    /// <summary>
    /// The Modelfile text for <paramref name="ggufFileName"/> (in the same folder). <paramref name="stops"/> are the
    /// end-of-sequence token strings, added to the format's own stops. Returns a warning when no chat format was
    /// recognised (then the Modelfile has no TEMPLATE and Ollama falls back to its own detection).
    /// </summary>
    public static (string Text, string? Warning) Build(string ggufFileName, OllamaChatFormat? format,
                                                       IEnumerable<string> stops, GenerationConfig? generation)
    {
        var text = new StringBuilder();
        text.Append("# Ollama Modelfile written by LlamaBoard: ollama create <name> -f Modelfile\n");
        text.Append($"FROM ./{ggufFileName}\n");
        string? warning = null;
        if (format is null)
        {
            warning = "The chat template was not recognised as ChatML, Llama 3, Gemma, Mistral, Llama 2 or Phi-3, so the " +
                      "Modelfile has no TEMPLATE; Ollama then uses the template it derives from the GGUF's tokenizer.chat_template.";
            text.Append("# No TEMPLATE: the chat format was not recognised (see tokenizer.chat_template in the GGUF).\n");
        }
        else
        {
            if (format.Template.Contains("\"\"\"", StringComparison.Ordinal))
                throw new InvalidOperationException("An Ollama TEMPLATE cannot contain three double quotes.");
            text.Append($"TEMPLATE \"\"\"{format.Template}\"\"\"\n");
        }
        foreach (string stop in (format?.Stops ?? []).Concat(stops).Distinct(StringComparer.Ordinal))
            text.Append($"PARAMETER stop {Quote(stop)}\n");
        if (generation is not null)
        {
            var c = CultureInfo.InvariantCulture;
            if (generation.Temperature is { } t) text.Append(c, $"PARAMETER temperature {t}\n");
            if (generation.TopP is { } p) text.Append(c, $"PARAMETER top_p {p}\n");
            if (generation.TopK is { } k && k > 0) text.Append(c, $"PARAMETER top_k {k}\n");
            if (generation.RepetitionPenalty is { } r) text.Append(c, $"PARAMETER repeat_penalty {r}\n");
        }
        return (text.ToString(), warning);
    }

    /// <summary>A Modelfile string value: double quotes with backslash escapes.</summary>
    static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal)
                                                     .Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
