using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Inference;

namespace LlamaBoard.Web.Api;

/// <summary>
/// A chat-completions request body turned into a <see cref="ChatRequest"/>, as LLaMA-Factory's API maps it: a
/// leading system (or developer) message becomes the system prompt; user, assistant, tool (observation) and
/// assistant tool_calls (function) turns follow; tools become the template's tool descriptions. Everything that
/// does not fit is refused with the field named.
/// </summary>
public sealed record OpenAiRequest(ChatRequest Chat, bool Stream, bool IncludeUsage)
{
    /// <summary>Parses and checks the JSON body.</summary>
    /// <exception cref="OpenAiError">400, naming the field.</exception>
    public static OpenAiRequest Parse(JsonNode? body)
    {
        if (body is not JsonObject root) throw OpenAiError.BadRequest("The request body must be a JSON object.");
        string model = String(root, "model") ?? throw OpenAiError.BadRequest("you must provide a model parameter.", "model");
        if (root["messages"] is not JsonArray list || list.Count == 0)
            throw OpenAiError.BadRequest("messages must be a non-empty list of {role, content} objects.", "messages");

        string? system = null;
        var messages = new List<ChatMessage>();
        for (int i = 0; i < list.Count; i++)
        {
            string where = $"messages[{i}]";
            if (list[i] is not JsonObject message) throw OpenAiError.BadRequest($"{where} must be an object.", where);
            string role = String(message, "role", where) ?? throw OpenAiError.BadRequest($"{where}.role is required.", $"{where}.role");
            if ((role is "system" or "developer") && i == 0)
            {
                system = Content(message, where) ?? "";
                continue;
            }
            messages.Add(role switch
            {
                "user" => new ChatMessage(ChatRole.User, Content(message, where) ?? ""),
                "tool" => new ChatMessage(ChatRole.Observation, Content(message, where) ?? ""),
                "function" => new ChatMessage(ChatRole.Function, Content(message, where) ?? ""),
                "assistant" when message["tool_calls"] is JsonArray { Count: > 0 } calls => new ChatMessage(ChatRole.Function, ToolCalls(calls, where)),
                "assistant" => new ChatMessage(ChatRole.Assistant, Content(message, where) ?? ""),
                "system" or "developer" => throw OpenAiError.BadRequest($"{where}: a {role} message may only come first.", $"{where}.role"),
                _ => throw OpenAiError.BadRequest($"{where}.role '{role}' is not one of system, user, assistant, tool.", $"{where}.role"),
            });
        }

        int n = Int(root, "n") ?? 1;
        if (n != 1) throw OpenAiError.BadRequest($"n = {n} is not supported; this server returns one choice (n = 1).", "n");
        double? temperature = Number(root, "temperature");
        if (temperature is < 0 or > 2) throw OpenAiError.BadRequest($"temperature {temperature} is not in [0, 2].", "temperature");
        double? topP = Number(root, "top_p");
        if (topP is <= 0 or > 1) throw OpenAiError.BadRequest($"top_p {topP} is not in (0, 1].", "top_p");
        int? maxTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens");
        if (maxTokens is < 1) throw OpenAiError.BadRequest($"max_tokens {maxTokens} must be at least 1.", root.ContainsKey("max_completion_tokens") ? "max_completion_tokens" : "max_tokens");
        int? topK = Int(root, "top_k");
        if (topK is < 0) throw OpenAiError.BadRequest($"top_k {topK} must be at least 0.", "top_k");
        double? repetition = Number(root, "repetition_penalty");
        if (repetition is <= 0) throw OpenAiError.BadRequest($"repetition_penalty {repetition} must be greater than 0.", "repetition_penalty");

        var stop = root["stop"] switch
        {
            null => [],
            JsonValue one when one.GetValueKind() == JsonValueKind.String => [one.GetValue<string>()],
            JsonArray many when many.All(s => s?.GetValueKind() == JsonValueKind.String) => many.Select(s => s!.GetValue<string>()).ToList(),
            _ => throw OpenAiError.BadRequest("stop must be a string or a list of strings.", "stop"),
        };
        if (stop.Count > 4) throw OpenAiError.BadRequest($"stop has {stop.Count} strings; at most 4 are allowed.", "stop");

        string? tools = Tools(root);
        bool stream = Bool(root, "stream") ?? false;
        bool includeUsage = root["stream_options"] is JsonObject options && (Bool(options, "include_usage") ?? false);
        var chat = new ChatRequest
        {
            Messages = messages,
            System = system,
            Tools = tools,
            Model = model,
            DoSample = Bool(root, "do_sample"),
            Temperature = temperature,
            TopP = topP,
            TopK = topK,
            RepetitionPenalty = repetition,
            MaxNewTokens = maxTokens,
            Seed = root["seed"] is null ? null : Long(root, "seed"),
            Stop = stop,
            EnableThinking = Bool(root, "enable_thinking"),
            SkipSpecialTokens = Bool(root, "skip_special_tokens"),
        };
        return new OpenAiRequest(chat, stream, includeUsage);
    }

    /// <summary>The tool definitions the template describes (the function objects), or null for none / tool_choice none.</summary>
    static string? Tools(JsonObject root)
    {
        if (root["tools"] is null) return null;
        if (root["tools"] is not JsonArray tools) throw OpenAiError.BadRequest("tools must be a list of {type: function, function: {...}}.", "tools");
        string choice = root["tool_choice"] switch
        {
            null => "auto",
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            _ => "named",
        };
        if (choice == "none" || tools.Count == 0) return null;
        if (choice != "auto")
            throw OpenAiError.BadRequest($"tool_choice '{choice}' is not supported; use auto or none (the model decides whether to call a tool).", "tool_choice");
        var functions = new JsonArray();
        for (int i = 0; i < tools.Count; i++)
        {
            if (tools[i] is not JsonObject tool || tool["function"] is not JsonObject function || function["name"]?.GetValueKind() != JsonValueKind.String)
                throw OpenAiError.BadRequest($"tools[{i}] must be {{\"type\": \"function\", \"function\": {{\"name\", \"description\", \"parameters\"}}}}.", $"tools[{i}]");
            functions.Add(function.DeepClone());
        }
        return PythonJson.Dumps(functions);
    }

    /// <summary>An assistant turn's tool_calls as the function turn JSON the template expects (arguments as objects).</summary>
    static string ToolCalls(JsonArray calls, string where)
    {
        var list = new JsonArray();
        for (int i = 0; i < calls.Count; i++)
        {
            string at = $"{where}.tool_calls[{i}]";
            if (calls[i] is not JsonObject call || call["function"] is not JsonObject function || String(function, "name", at) is not { } name)
                throw OpenAiError.BadRequest($"{at} must be {{\"type\": \"function\", \"function\": {{\"name\", \"arguments\"}}}}.", at);
            // OpenAI sends the arguments as JSON text; the templates write (and models learn) them as objects.
            JsonNode? arguments = function["arguments"] switch
            {
                JsonValue text when text.GetValueKind() == JsonValueKind.String => ParseArguments(text.GetValue<string>(), at),
                var other => other?.DeepClone() ?? new JsonObject(),
            };
            list.Add(new JsonObject { ["name"] = name, ["arguments"] = arguments });
        }
        return PythonJson.Dumps(list);
    }

    static JsonNode ParseArguments(string text, string where)
    {
        try
        {
            return JsonNode.Parse(text.Length == 0 ? "{}" : text) ?? new JsonObject();
        }
        catch (JsonException)
        {
            throw OpenAiError.BadRequest($"{where}.function.arguments is not valid JSON.", $"{where}.function.arguments");
        }
    }

    /// <summary>Text content: a string, null, or a list of {type: text, text} parts (other parts are refused).</summary>
    static string? Content(JsonObject message, string where) => message["content"] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select((part, i) =>
            part is JsonObject p && String(p, "type", where) == "text" && String(p, "text", where) is { } text
                ? text
                : throw OpenAiError.BadRequest($"{where}.content[{i}]: only text parts are supported by this text model.", $"{where}.content"))),
        _ => throw OpenAiError.BadRequest($"{where}.content must be a string or a list of text parts.", $"{where}.content"),
    };

    static string? String(JsonObject o, string key, string? where = null) => o[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw OpenAiError.BadRequest($"{(where is null ? key : $"{where}.{key}")} must be a string.", where is null ? key : $"{where}.{key}"),
    };

    static double? Number(JsonObject o, string key) => o[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        _ => throw OpenAiError.BadRequest($"{key} must be a number.", key),
    };

    static int? Int(JsonObject o, string key) => Number(o, key) is { } d
        ? d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue ? (int)d : throw OpenAiError.BadRequest($"{key} must be a whole number.", key)
        : null;

    static long Long(JsonObject o, string key) => Number(o, key) is { } d && d == Math.Floor(d) && Math.Abs(d) < 9e18
        ? (long)d : throw OpenAiError.BadRequest($"{key} must be a whole number.", key);

    static bool? Bool(JsonObject o, string key) => o[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw OpenAiError.BadRequest($"{key} must be true or false.", key),
    };
}
