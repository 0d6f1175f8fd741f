using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Engine.Inference;

/// <summary>A tool call the model made: the function's name and its arguments as JSON text.</summary>
public sealed record ToolCall(string Name, string Arguments);

/// <summary>
/// Reads tool calls out of a reply, the inverse of each template's tool format, with LLaMA-Factory's rules
/// (<c>tool_extractor</c>): a reply that does not parse completely is plain text (null), never a partial call.
/// Arguments are re-serialised as Python's <c>json.dumps(…, ensure_ascii=False)</c> writes them.
/// </summary>
public static partial class ToolCallParser
{
    /// <summary>The calls in <paramref name="reply"/> for tool format <paramref name="format"/>, or null when it is not a tool call.</summary>
    /// <exception cref="ArgumentException">Unknown format.</exception>
    public static IReadOnlyList<ToolCall>? Parse(string format, string reply) => format switch
    {
        "default" => ParseDefault(reply),
        "qwen" => ParseQwen(reply),
        "llama3" => ParseJsonCalls(reply, "parameters"),
        "mistral" => ParseJsonCalls(reply, "arguments"),
        _ => throw new ArgumentException($"tool_format '{format}' is unknown; use default, qwen, llama3 or mistral", nameof(format)),
    };

    /// <summary>ReAct style: "Action: name\nAction Input: {json}", possibly several.</summary>
    static List<ToolCall>? ParseDefault(string reply)
    {
        var matches = DefaultPattern().Matches(reply);
        if (matches.Count == 0) return null;
        var calls = new List<ToolCall>();
        foreach (Match match in matches)
        {
            string input = match.Groups[2].Value.Trim().Trim('"').Trim('`');
            if (ParseJson(input) is not { } arguments) return null;
            calls.Add(new ToolCall(match.Groups[1].Value.Trim(), PythonJson.Dumps(arguments)));
        }
        return calls;
    }

    /// <summary>Qwen: one or more &lt;tool_call&gt;{"name": …, "arguments": …}&lt;/tool_call&gt; blocks ending the reply.</summary>
    static List<ToolCall>? ParseQwen(string reply)
    {
        var matches = QwenPattern().Matches(reply);
        if (matches.Count == 0) return null;
        var calls = new List<ToolCall>();
        foreach (Match match in matches)
        {
            if (ParseJson(match.Groups[1].Value.Trim()) is not JsonObject call
                || !call.TryGetPropertyValue("name", out var name) || !call.TryGetPropertyValue("arguments", out var arguments))
                return null;
            calls.Add(new ToolCall(NameText(name), PythonJson.Dumps(arguments)));
        }
        return calls;
    }

    /// <summary>Llama 3 ("parameters") and Mistral ("arguments"): the whole reply is one call object or a list of them.</summary>
    static List<ToolCall>? ParseJsonCalls(string reply, string argumentsKey)
    {
        var parsed = ParseJson(reply.Trim());
        var items = parsed switch
        {
            JsonArray list => list.ToList(),
            JsonObject one => [one],
            _ => null,
        };
        if (items is null) return null;
        var calls = new List<ToolCall>();
        foreach (var item in items)
        {
            if (item is not JsonObject call || !call.TryGetPropertyValue("name", out var name)
                || !call.TryGetPropertyValue(argumentsKey, out var arguments))
                return null;
            calls.Add(new ToolCall(NameText(name), PythonJson.Dumps(arguments)));
        }
        return calls;
    }

    static string NameText(JsonNode? name) =>
        name is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : PythonJson.Dumps(name);

    /// <summary>Parses JSON like Python's json.loads: any value, or null (the C# null) when it is not valid JSON.</summary>
    static JsonNode? ParseJson(string text)
    {
        try
        {
            // A JSON null parses to a null node; treat it like json.loads does not matter here: it is never a call.
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"Action:\s*([a-zA-Z0-9_]+)\s*Action Input:\s*(.+?)(?=\s*Action:|\s*$)", RegexOptions.Singleline)]
    private static partial Regex DefaultPattern();

    [GeneratedRegex(@"<tool_call>(.+?)</tool_call>(?=\s*<tool_call>|\s*$)", RegexOptions.Singleline)]
    private static partial Regex QwenPattern();
}
