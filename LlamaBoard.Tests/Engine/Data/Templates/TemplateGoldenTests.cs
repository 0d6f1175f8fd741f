using System.Text.Json.Nodes;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Tests.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Data.Templates;

/// <summary>
/// Our templates produce, token for token, what each model's own Jinja chat template produces. The goldens were
/// rendered by @huggingface/jinja and tokenized by @lenml/tokenizers (Goldens/generate.mjs); here the same
/// conversations go through LlamaBoard's template registry and the model's real tokenizer.
/// </summary>
public class TemplateGoldenTests
{
    static readonly JsonNode Goldens = JsonNode.Parse(File.ReadAllText(
        Path.Combine(RepositoryPaths.Root, "LlamaBoard.Tests", "Engine", "Data", "Templates", "Goldens", "chat_template_goldens.json")))!;

    /// <summary>The header the original Llama 3 chat template writes after every conversation.</summary>
    const string Llama3AssistantHeader = "<|start_header_id|>assistant<|end_header_id|>\n\n";

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (model, spec) in Goldens["models"]!.AsObject())
            foreach (var c in spec!["cases"]!.AsArray())
                data.Add(model, c!["name"]!.GetValue<string>());
        return data;
    }

    static JsonNode Case(string model, string name) =>
        Goldens["models"]![model]!["cases"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;

    /// <summary>The golden's OpenAI-style messages in LlamaBoard's example model.</summary>
    static (List<ChatMessage> Messages, string System, string Tools) Convert(JsonNode golden)
    {
        var messages = new List<ChatMessage>();
        string system = "";
        foreach (var m in golden["messages"]!.AsArray())
        {
            string role = m!["role"]!.GetValue<string>();
            string content = m["content"]!.GetValue<string>();
            if (role == "system") system = content;
            else if (m["tool_calls"] is JsonArray calls)
                messages.Add(new ChatMessage(ChatRole.Function, new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
                {
                    ["name"] = c!["function"]!["name"]!.DeepClone(),
                    ["arguments"] = c["function"]!["arguments"]!.DeepClone(),
                })]).ToJsonString()));
            else if (role == "tool") messages.Add(new ChatMessage(ChatRole.Observation, content));
            else messages.Add(new ChatMessage(role == "user" ? ChatRole.User : ChatRole.Assistant, content));
        }
        return (messages, system, golden["tools"]?.ToJsonString() ?? "");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Template_tokens_equal_the_models_jinja_chat_template(string model, string name)
    {
        var golden = Case(model, name);
        var spec = Goldens["models"]![model]!;
        var tokenizer = new HfTextTokenizer(TokenizerPackages.Load(model));
        int[] expected = [.. golden["ids"]!.AsArray().Select(i => i!.GetValue<int>())];
        // The tokenizers agree on the rendered text (otherwise a mismatch below would be the tokenizer's).
        Assert.Equal(expected, tokenizer.Encode(golden["text"]!.GetValue<string>()));

        var template = ChatTemplates.Get(spec["template"]!.GetValue<string>());
        if (golden["enable_thinking"] is { } thinking) template = template with { EnableThinking = thinking.GetValue<bool>() };
        var t = new TemplateTokenizer(tokenizer, template);
        var (messages, system, tools) = Convert(golden);
        bool generationPrompt = golden["add_generation_prompt"]!.GetValue<bool>();
        List<int> ours;
        if (generationPrompt)
        {
            var turn = TemplateFormatter.FormatOneturn(template, [.. messages, new ChatMessage(ChatRole.Assistant, "")], system, tools);
            ours = t.Encode(turn.Prompt);
        }
        else
            ours = [.. TemplateFormatter.FormatMultiturn(template, messages, system, tools)
                                        .SelectMany(turn => t.Encode(turn.Prompt).Concat(t.Encode(turn.Response)))];

        if (!generationPrompt && spec["ignores_add_generation_prompt"]!.GetValue<bool>() && ours.Count < expected.Length)
        {
            // This chat_template writes the assistant header even after a finished conversation.
            Assert.Equal(ours, expected[..ours.Count]);
            Assert.Equal(Llama3AssistantHeader, tokenizer.Decode(expected[ours.Count..]));
            return;
        }
        Assert.Equal(expected, ours);
    }

    [Theory]
    [InlineData("qwen3", "multi_turn_system")]
    [InlineData("gemma3", "multi_turn")]
    [InlineData("llama2", "multi_turn_system")]
    [InlineData("qwen3", "tools")]
    public void Supervised_samples_have_the_golden_tokens_and_learn_only_the_answers(string model, string name)
    {
        var golden = Case(model, name);
        var tokenizer = new HfTextTokenizer(TokenizerPackages.Load(model));
        var template = ChatTemplates.Get(Goldens["models"]![model]!["template"]!.GetValue<string>());
        var (messages, system, tools) = Convert(golden);
        var example = new DataExample { Messages = messages, System = system, Tools = tools, Origin = new ExampleOrigin("g", "g", 0) };
        var sample = new SupervisedProcessor(new TemplateTokenizer(tokenizer, template), new DataPipelineOptions { CutoffLen = 4096 })
            .Encode([example], 0).Main;
        Assert.Equal(golden["ids"]!.AsArray().Select(i => i!.GetValue<int>()), sample.InputIds);

        var learned = DatasetPreview.Spans(tokenizer, "input", sample).Spans.Where(s => s.Learned).Select(s => s.Text).ToList();
        var answers = messages.Where(m => m.Role is ChatRole.Assistant or ChatRole.Function).ToList();
        Assert.Equal(answers.Count, learned.Count);
        Assert.Contains(answers[^1].Content, learned[^1]);
    }
}
