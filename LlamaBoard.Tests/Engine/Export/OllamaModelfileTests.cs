using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>The Ollama Modelfile: chat format by template name or by the Jinja template's markers, stops, sampling defaults.</summary>
public class OllamaModelfileTests
{
    [Theory]
    [InlineData("qwen3", "chatml")]
    [InlineData("llama3", "llama3")]
    [InlineData("gemma3", "gemma")]
    public void Real_chat_templates_are_recognised_by_their_markers(string tokenizer, string format)
    {
        var template = TokenizerPackages.Load(tokenizer).ChatTemplate;
        Assert.Equal(format, OllamaModelfile.Recognise(null, template)!.Name);
    }

    [Theory]
    [InlineData("qwen", "chatml")]
    [InlineData("llama3", "llama3")]
    [InlineData("gemma2", "gemma")]
    [InlineData("mistral", "mistral")]
    [InlineData("llama2", "llama2")]
    [InlineData("phi", "phi3")]
    public void A_LLaMA_Factory_template_name_picks_the_format_first(string name, string format) =>
        Assert.Equal(format, OllamaModelfile.Recognise(name, "{{ '<|im_start|>' }}")!.Name);

    [Fact]
    public void Marker_detection_covers_Phi_3_Llama_2_and_Mistral_and_returns_null_otherwise()
    {
        Assert.Equal("phi3", OllamaModelfile.Recognise(null, "{{'<|user|>\n' + m + '<|end|>'}}")!.Name);
        Assert.Equal("llama2", OllamaModelfile.Recognise(null, "[INST] <<SYS>>\n{{ s }}\n<</SYS>>")!.Name);
        Assert.Equal("mistral", OllamaModelfile.Recognise("unknown-name", "{{ '[INST] ' + m + ' [/INST]' }}")!.Name);
        Assert.Null(OllamaModelfile.Recognise(null, "{{ messages | tojson }}"));
        Assert.Null(OllamaModelfile.Recognise(null, null));
    }

    [Fact]
    public void The_Modelfile_has_FROM_TEMPLATE_stops_and_sampling_defaults()
    {
        var generation = new GenerationConfig { Temperature = 0.7, TopP = 0.8, TopK = 20, RepetitionPenalty = 1.05 };
        var (text, warning) = OllamaModelfile.Build("m-Q8_0.gguf", OllamaModelfile.Llama3, ["<|eot_id|>", "<|end_of_text|>", "say \"hi\""], generation);
        Assert.Null(warning);
        Assert.Equal(
            "# Ollama Modelfile written by LlamaBoard: ollama create <name> -f Modelfile\n" +
            "FROM ./m-Q8_0.gguf\n" +
            "TEMPLATE \"\"\"{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}" +
            "{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>{{ end }}" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>\"\"\"\n" +
            "PARAMETER stop \"<|start_header_id|>\"\n" +
            "PARAMETER stop \"<|end_header_id|>\"\n" +
            "PARAMETER stop \"<|eot_id|>\"\n" +
            "PARAMETER stop \"<|end_of_text|>\"\n" +
            "PARAMETER stop \"say \\\"hi\\\"\"\n" +
            "PARAMETER temperature 0.7\n" +
            "PARAMETER top_p 0.8\n" +
            "PARAMETER top_k 20\n" +
            "PARAMETER repeat_penalty 1.05\n",
            text);
    }

    [Fact]
    public void Without_a_recognised_format_there_is_no_TEMPLATE_and_a_warning()
    {
        var (text, warning) = OllamaModelfile.Build("x.gguf", null, ["</s>"], null);
        Assert.DoesNotContain("TEMPLATE", text.Replace("# No TEMPLATE", "", StringComparison.Ordinal));
        Assert.Contains("PARAMETER stop \"</s>\"\n", text);
        Assert.Contains("tokenizer.chat_template", warning);
    }

    [Fact]
    public void Every_format_uses_only_Ollama_template_variables_and_balanced_actions()
    {
        foreach (var format in new[] { OllamaModelfile.ChatMl, OllamaModelfile.Llama3, OllamaModelfile.Gemma, OllamaModelfile.Mistral,
                                       OllamaModelfile.Llama2, OllamaModelfile.Phi3 })
        {
            var actions = System.Text.RegularExpressions.Regex.Matches(format.Template, @"\{\{(.*?)\}\}").Select(m => m.Groups[1].Value.Trim()).ToList();
            Assert.All(actions, a => Assert.Matches(@"^(if \.(System|Prompt)|end|\.(System|Prompt|Response))$", a));
            Assert.Equal(actions.Count(a => a.StartsWith("if ", StringComparison.Ordinal)), actions.Count(a => a == "end"));
            Assert.Contains(".Response", actions);
            Assert.NotEmpty(format.Stops);
        }
    }
}
