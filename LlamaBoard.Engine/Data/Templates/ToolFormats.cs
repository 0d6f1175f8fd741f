using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LlamaBoard.Engine.Data.Templates;

/// <summary>A function call parsed from a function turn: the name and the arguments object.</summary>
public sealed record FunctionCall(string Name, JsonNode Arguments);

/// <summary>How one model family writes tool descriptions (in the system prompt) and tool calls (in its answers).</summary>
public abstract class ToolFormat
{
    /// <summary>The system-prompt text describing <paramref name="tools"/>.</summary>
    public abstract string FormatTools(JsonArray tools);

    /// <summary>The assistant text of one or more tool calls.</summary>
    public abstract string FormatCalls(IReadOnlyList<FunctionCall> calls);

    /// <summary>The registered formats: default, qwen, llama3, mistral.</summary>
    public static ToolFormat Get(string name) => name switch
    {
        "default" => DefaultToolFormat.Instance,
        "qwen" => QwenToolFormat.Instance,
        "llama3" => Llama3ToolFormat.Instance,
        "mistral" => MistralToolFormat.Instance,
        _ => throw new ArgumentException($"tool_format '{name}' is unknown; use default, qwen, llama3 or mistral", nameof(name)),
    };

    /// <summary>OpenAI-style tools may wrap the schema in {"type": "function", "function": …}.</summary>
    protected static JsonObject Unwrap(JsonNode? tool) =>
        tool is JsonObject o && o["type"]?.GetValueKind() == JsonValueKind.String && o["type"]!.GetValue<string>() == "function"
            ? o["function"] as JsonObject ?? throw new FormatException("a tool of type 'function' has no 'function' object")
            : tool as JsonObject ?? throw new FormatException("each tool must be a JSON object");

    /// <summary>The tool in the {"type": "function", "function": …} wrapping.</summary>
    protected static JsonObject Wrap(JsonNode? tool) =>
        tool is JsonObject o && o["type"]?.GetValueKind() == JsonValueKind.String && o["type"]!.GetValue<string>() == "function"
            ? (JsonObject)o.DeepClone()
            : new JsonObject { ["type"] = "function", ["function"] = (tool ?? new JsonObject()).DeepClone() };

    protected static string Text(JsonNode? node) =>
        node is null ? "" : node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : PythonJson.Dumps(node);

    /// <summary>
    /// Parses a function turn (LLaMA-Factory's FunctionFormatter): the calls may sit between tool-call words, with
    /// other text (a thought) around them, or the whole content is JSON with an optional thought block.
    /// Returns the formatted assistant text.
    /// </summary>
    public string FormatFunctionTurn(string content, (string Open, string Close) thoughtWords, (string Open, string Close) toolCallWords)
    {
        var call = Regex.Match(content, Regex.Escape(toolCallWords.Open) + "(.*?)" + Regex.Escape(toolCallWords.Close),
                               RegexOptions.Singleline);
        if (call.Success)
            return content.Replace(call.Value, "", StringComparison.Ordinal) + FormatCalls(ParseCalls(call.Groups[1].Value, content));
        var thought = Regex.Match(content, Regex.Escape(thoughtWords.Open) + "(.*?)" + Regex.Escape(thoughtWords.Close),
                                  RegexOptions.Singleline);
        string json = thought.Success ? content.Replace(thought.Value, "", StringComparison.Ordinal) : content;
        string formatted = FormatCalls(ParseCalls(json, content));
        return thought.Success ? thought.Value + formatted : formatted;
    }

    static List<FunctionCall> ParseCalls(string json, string content)
    {
        JsonNode? parsed;
        try
        {
            parsed = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            throw new FormatException($"a function-call turn is not valid JSON: {Shorten(content)}");
        }
        var items = parsed as JsonArray ?? [parsed?.DeepClone()];
        var calls = new List<FunctionCall>();
        foreach (var item in items)
        {
            if (item is not JsonObject o || o["name"]?.GetValueKind() != JsonValueKind.String)
                throw new FormatException($"a function call needs a \"name\" and \"arguments\": {Shorten(content)}");
            calls.Add(new FunctionCall(o["name"]!.GetValue<string>(), o["arguments"]?.DeepClone() ?? new JsonObject()));
        }
        return calls;
    }

    static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "...";
}

/// <summary>LLaMA-Factory's generic ReAct-style format ("Action:" / "Action Input:"), kept word for word for compatibility.</summary>
internal sealed class DefaultToolFormat : ToolFormat
{
    public static readonly DefaultToolFormat Instance = new();

    public override string FormatTools(JsonArray tools)
    {
        var text = new StringBuilder();
        var names = new List<string>();
        foreach (var item in tools)
        {
            var tool = Unwrap(item);
            var args = new StringBuilder();
            var parameters = tool["parameters"] as JsonObject;
            var required = (parameters?["required"] as JsonArray)?.Select(Text).ToHashSet() ?? [];
            if (parameters?["properties"] is JsonObject properties)
            {
                foreach (var (name, value) in properties)
                {
                    var param = value as JsonObject ?? [];
                    string enumText = param["enum"] is JsonArray { Count: > 0 } values
                        ? ", should be one of [" + string.Join(", ", values.Select(Text)) + "]" : "";
                    string items = param["items"] is JsonObject itemSchema ? ", where each item should be " + Text(itemSchema["type"]) : "";
                    args.Append($"  - {name} ({Text(param["type"])}{(required.Contains(name) ? ", required" : "")}): " +
                                $"{Text(param["description"])}{enumText}{items}\n");
                }
            }
            string toolName = Text(tool["name"]);
            text.Append($"> Tool Name: {toolName}\nTool Description: {Text(tool["description"])}\nTool Args:\n{args}\n");
            names.Add(toolName);
        }
        return "You have access to the following tools:\n" + text +
               "Use the following format if using a tool:\n```\n" +
               $"Action: tool name (one of [{string.Join(", ", names)}])\n" +
               "Action Input: the input to the tool, in a JSON format representing the kwargs " +
               "(e.g. ```{\"input\": \"hello world\", \"num_beams\": 5}```)\n```\n";
    }

    public override string FormatCalls(IReadOnlyList<FunctionCall> calls) =>
        string.Join("\n", calls.Select(c => $"Action: {c.Name}\nAction Input: {PythonJson.Dumps(c.Arguments)}"));
}

/// <summary>Qwen 2.5 / Qwen 3: tools as JSON lines inside &lt;tools&gt;, calls inside &lt;tool_call&gt;, as Qwen's own chat template writes them.</summary>
internal sealed class QwenToolFormat : ToolFormat
{
    public static readonly QwenToolFormat Instance = new();

    public override string FormatTools(JsonArray tools)
    {
        var text = new StringBuilder();
        foreach (var tool in tools) text.Append('\n').Append(PythonJson.Dumps(Wrap(tool)));
        return "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
               "You are provided with function signatures within <tools></tools> XML tags:\n<tools>" + text +
               "\n</tools>\n\nFor each function call, return a json object with function name and arguments within " +
               "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";
    }

    public override string FormatCalls(IReadOnlyList<FunctionCall> calls) =>
        string.Join("\n", calls.Select(c =>
            "<tool_call>\n" + PythonJson.Dumps(new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments.DeepClone() }) +
            "\n</tool_call>"));
}

/// <summary>
/// Llama 3.1 JSON tool calling (tools in the system prompt). The prompt carries a date; a fixed one (the date
/// Meta's template uses by default) keeps preprocessing reproducible and the cache valid across days.
/// </summary>
internal sealed class Llama3ToolFormat : ToolFormat
{
    public static readonly Llama3ToolFormat Instance = new();
    const string Date = "26 Jul 2024";

    public override string FormatTools(JsonArray tools)
    {
        var text = new StringBuilder();
        foreach (var tool in tools) text.Append(PythonJson.Dumps(Wrap(tool), indent: 4)).Append("\n\n");
        return $"Cutting Knowledge Date: December 2023\nToday Date: {Date}\n\n" +
               "You have access to the following functions. To call a function, please respond with JSON for a function call. " +
               "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}. " +
               "Do not use variables.\n\n" + text;
    }

    public override string FormatCalls(IReadOnlyList<FunctionCall> calls)
    {
        var objects = calls.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["parameters"] = c.Arguments.DeepClone() }).ToList();
        return PythonJson.Dumps(objects.Count == 1 ? objects[0] : new JsonArray([.. objects]));
    }
}

/// <summary>Mistral v0.3: [AVAILABLE_TOOLS] JSON list, calls as a JSON list after [TOOL_CALLS].</summary>
internal sealed class MistralToolFormat : ToolFormat
{
    public static readonly MistralToolFormat Instance = new();

    public override string FormatTools(JsonArray tools) =>
        "[AVAILABLE_TOOLS] " + PythonJson.Dumps(new JsonArray([.. tools.Select(t => (JsonNode)Wrap(t))])) + "[/AVAILABLE_TOOLS]";

    public override string FormatCalls(IReadOnlyList<FunctionCall> calls) =>
        PythonJson.Dumps(new JsonArray([.. calls.Select(c =>
            (JsonNode)new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments.DeepClone() })]));
}
