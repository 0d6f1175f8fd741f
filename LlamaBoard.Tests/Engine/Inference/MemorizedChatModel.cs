using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Inference;

/// <summary>One conversation the memorized model answers word for word.</summary>
internal sealed record MemorizedTurn(IReadOnlyList<ChatMessage> Messages, string Response, string? Tools = null, bool EnableThinking = true);

/// <summary>
/// A tiny qwen3-template model trained (full fine-tuning, a few hundred Adam steps) until greedy decoding reproduces
/// given replies exactly: a thought and an answer, a tool call, an answer after a tool result, multi-byte text, a
/// multi-turn answer and an answer with thinking off. Tests of the chat engine, the API and `llamaboard chat` use
/// it to check real generations end to end. Built once per test run; its replies are checked before use.
/// </summary>
internal static class MemorizedChatModel
{
    public const string Tools = """[{"type": "function", "function": {"name": "get_weather", "description": "Current weather of a city", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}, "required": ["city"]}}}]""";
    public const string Call = """{"name": "get_weather", "arguments": {"city": "Paris"}}""";

    public static readonly MemorizedTurn Hello = new([new(ChatRole.User, "Say hello.")],
        "<think>\nA greeting is wanted.\n</think>\n\nHello there! Goodbye now.");
    public static readonly MemorizedTurn Weather = new([new(ChatRole.User, "What is the weather in Paris?")],
        "<think>\n\n</think>\n\n<tool_call>\n" + Call + "\n</tool_call>", Tools);
    public static readonly MemorizedTurn Observation = new(
        [new(ChatRole.User, "What is the weather in Paris?"), new(ChatRole.Function, Call), new(ChatRole.Observation, """{"temperature": 21}""")],
        "<think>\n\n</think>\n\nIt is 21 degrees in Paris.", Tools);
    public static readonly MemorizedTurn Unicode = new([new(ChatRole.User, "Greet the world.")],
        "<think>\n\n</think>\n\n你好，世界！🌍 Привет, мир.");
    public static readonly MemorizedTurn Name = new(
        [new(ChatRole.User, "My name is Ada."), new(ChatRole.Assistant, "Nice to meet you, Ada."), new(ChatRole.User, "What is my name?")],
        "<think>\n\n</think>\n\nYour name is Ada.");
    public static readonly MemorizedTurn NoThinking = new([new(ChatRole.User, "Say hello.")], "Hi! No thinking today.", EnableThinking: false);

    public static readonly MemorizedTurn[] All = [Hello, Weather, Observation, Unicode, Name, NoThinking];

    static readonly Lock Gate = new();
    static string? folder;

    /// <summary>The model folder (config, weights, tokenizer), created on first use.</summary>
    public static string Folder()
    {
        lock (Gate)
        {
            if (folder is not null) return folder;
            Torch.EnsureReady();
            string path = Path.Combine(Path.GetTempPath(), "llamaboard-tests", "memorized-chat-" + Environment.ProcessId);
            if (Directory.Exists(path)) Directory.Delete(path, true);
            ModelScaffold.Create(new ModelScaffoldOptions("qwen3", new ModelShape(64, 2, 4, 2, 128, 512, HeadDim: 16), path) { Seed = 5 });
            Train(path);
            return folder = path;
        }
    }

    /// <summary>A chat engine over the memorized model (fp32, greedy by default).</summary>
    public static ChatEngine Engine(SamplingOptions? defaults = null)
    {
        string path = Folder();
        var host = ModelHost.Load(path, "memorized", ScalarType.Float32, CPU);
        return new ChatEngine(host, HfTokenizer.Load(path), ChatTemplates.Get("qwen3"), defaults ?? SamplingOptions.Greedy(200));
    }

    /// <summary>Prompt and response ids of a turn, as the chat engine builds the prompt.</summary>
    public static (List<int> Prompt, List<int> Response) Encode(TemplateTokenizer tokenizer, MemorizedTurn turn)
    {
        var template = tokenizer.Template with { EnableThinking = turn.EnableThinking };
        var formatted = TemplateFormatter.FormatOneturn(template, [.. turn.Messages, new ChatMessage(ChatRole.Assistant, "")], null, turn.Tools);
        var prompt = tokenizer.Encode(formatted.Prompt);
        var response = tokenizer.Encode([TemplateSlot.Text(turn.Response), TemplateSlot.Eos]);
        return (prompt, response);
    }

    static void Train(string path)
    {
        var tokenizer = new TemplateTokenizer(new HfTextTokenizer(HfTokenizer.Load(path)), ChatTemplates.Get("qwen3"));
        var sequences = All.Select(turn => Encode(tokenizer, turn)).ToList();
        using var loaded = HfModelLoader.Load(path, ScalarType.Float32, CPU);
        var model = loaded.Model;
        int length = sequences.Max(s => s.Prompt.Count + s.Response.Count);
        var ids = new long[sequences.Count * length];
        var labels = new long[sequences.Count * length];
        Array.Fill(labels, -100);
        for (int r = 0; r < sequences.Count; r++)
        {
            var (prompt, response) = sequences[r];
            for (int t = 0; t < prompt.Count + response.Count; t++)
            {
                ids[r * length + t] = t < prompt.Count ? prompt[t] : response[t - prompt.Count];
                // Position t predicts token t + 1: label the positions whose next token is a response token.
                if (t + 1 >= prompt.Count && t + 1 < prompt.Count + response.Count) labels[r * length + t] = response[t + 1 - prompt.Count];
            }
        }
        using var input = tensor(ids, [sequences.Count, length], ScalarType.Int64);                 // (B, T)
        using var target = tensor(labels, [sequences.Count, length], ScalarType.Int64);             // (B, T)
        using var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-2);
        double loss = double.NaN;
        for (int step = 0; step < 400; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var logits = model.Forward(input);                                                       // (B, T, V)
            var value = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), target.view(-1), ignore_index: -100);
            value.backward();
            optimizer.step();
            loss = value.item<float>();
            if (loss < 2e-3) break;
        }
        if (!(loss < 0.05)) throw new InvalidOperationException($"The memorized chat model did not converge (loss {loss}).");
        HfModelSaver.Save(model, path, ScalarType.Float32, generation: loaded.Generation);

        // Greedy decoding must reproduce every reply, or the tests built on it would test nothing.
        var generator = new TokenGenerator(model);
        foreach (var (turn, (prompt, response)) in All.Zip(sequences))
        {
            var result = generator.Generate(new GenerationRequest([prompt], SamplingOptions.Greedy(response.Count + 4), [], 0));
            if (!result.Sequences[0].Tokens.Take(response.Count).SequenceEqual(response))
                throw new InvalidOperationException($"The memorized chat model does not reproduce: {turn.Response}");
        }
    }
}
