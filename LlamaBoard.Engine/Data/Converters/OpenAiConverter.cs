using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data.Converters;

/// <summary>
/// OpenAI chat records: {role, content} messages with an optional leading system message. An assistant message
/// with <c>tool_calls</c> becomes a function-call turn (JSON list of {name, arguments}); consecutive tool messages
/// become one observation turn. Content may be a string or a list of {type: "text", text} parts.
/// </summary>
internal static class OpenAiConverter
{
    /// <summary>How LLaMA-Factory joins several tool results into one observation turn.</summary>
    const string ToolResponseSeparator = "\n</tool_response>\n<tool_response>\n";

    public static DataExample Convert(RecordFields r)
    {
        var columns = r.Dataset.Columns;
        var tags = r.Dataset.Tags;
        if (columns.Messages is null)
            throw r.Error("the messages column is not mapped", null,
                          "add \"columns\": {\"messages\": \"messages\"} to the entry in dataset_info.json");
        var list = r.List(columns.Messages) ?? throw r.Error("the conversation is missing", columns.Messages);

        string system = r.String(columns.System) ?? "";
        int start = 0;
        if (list.Count > 0 && list[0] is JsonObject first && Role(r, first, 0) == tags.SystemTag)
        {
            system = Content(r, first, 0) ?? "";
            start = 1;
        }

        var messages = new List<ChatMessage>();
        var toolResults = new List<string>();
        void FlushToolResults()
        {
            if (toolResults.Count == 0) return;
            messages.Add(new ChatMessage(ChatRole.Observation, string.Join(ToolResponseSeparator, toolResults)));
            toolResults.Clear();
        }

        for (int i = start; i < list.Count; i++)
        {
            if (list[i] is not JsonObject message)
                throw r.Error($"message {i} must be an object, found {RecordFields.Describe(list[i])}", columns.Messages);
            string role = Role(r, message, i);
            if (role == tags.ObservationTag)
            {
                toolResults.Add(Content(r, message, i) ?? "");
                continue;
            }
            FlushToolResults();
            if ((role == tags.AssistantTag || role == tags.FunctionTag) && message["tool_calls"] is JsonArray { Count: > 0 } calls)
            {
                messages.Add(new ChatMessage(ChatRole.Function, ToolCalls(r, calls, i)));
                continue;
            }
            ChatRole mapped = role == tags.UserTag ? ChatRole.User
                : role == tags.AssistantTag ? ChatRole.Assistant
                : role == tags.FunctionTag ? ChatRole.Function
                : role == tags.SystemTag
                    ? throw r.Error($"message {i} is a system message; only the first message may be one", columns.Messages)
                    : throw r.Error($"message {i} has role '{role}', which is none of {tags.UserTag}, {tags.AssistantTag}, " +
                                    $"{tags.ObservationTag}, {tags.FunctionTag}, {tags.SystemTag}", columns.Messages);
            messages.Add(new ChatMessage(mapped, Content(r, message, i) ?? ""));
        }
        FlushToolResults();
        TurnOrder.Validate(r, messages, start, columns.Messages);

        ChatMessage? chosen = null, rejected = null;
        bool? kto = r.Boolean(columns.KtoTag);
        if (kto is null && r.Dataset.Ranking)
        {
            chosen = Candidate(r, columns.Chosen, "chosen");
            rejected = Candidate(r, columns.Rejected, "rejected");
        }

        return new DataExample
        {
            Messages = messages,
            System = system,
            Tools = r.Tools(columns.Tools),
            Chosen = chosen,
            Rejected = rejected,
            KtoLabel = kto,
            Origin = r.Origin,
        };
    }

    /// <summary>OpenAI tool calls as LLaMA-Factory's function-call content: a JSON list of {name, arguments}.</summary>
    static string ToolCalls(RecordFields r, JsonArray calls, int index)
    {
        var result = new JsonArray();
        foreach (var call in calls)
        {
            var function = (call as JsonObject)?["function"] as JsonObject ?? call as JsonObject;
            if (function?["name"] is not JsonValue name || name.GetValueKind() != JsonValueKind.String)
                throw r.Error($"message {index}: a tool call has no function name", r.Dataset.Columns.Messages);
            JsonNode? arguments = function["arguments"]?.DeepClone();
            // The OpenAI API sends arguments as JSON text; the templates want the object itself.
            if (arguments is JsonValue text && text.GetValueKind() == JsonValueKind.String)
            {
                try
                {
                    arguments = JsonNode.Parse(text.GetValue<string>());
                }
                catch (JsonException)
                {
                    throw r.Error($"message {index}: the arguments of tool call '{name}' are not valid JSON",
                                  r.Dataset.Columns.Messages);
                }
            }
            result.Add(new JsonObject { ["name"] = name.GetValue<string>(), ["arguments"] = arguments ?? new JsonObject() });
        }
        return result.ToJsonString();
    }

    static ChatMessage Candidate(RecordFields r, string? column, string role)
    {
        if (column is null)
            throw r.Error($"the {role} column is not mapped", null,
                          $"add \"columns\": {{\"{role}\": \"<column name>\"}} to the entry in dataset_info.json");
        if (r.Node(column) is not JsonObject message)
            throw r.Error($"the {role} response must be a message object, found {RecordFields.Describe(r.Node(column))}", column);
        string name = Role(r, message, null, column);
        if (name != r.Dataset.Tags.AssistantTag && name != r.Dataset.Tags.FunctionTag)
            throw r.Error($"the {role} response has role '{name}'; it must be '{r.Dataset.Tags.AssistantTag}'", column);
        return message["tool_calls"] is JsonArray { Count: > 0 } calls
            ? new ChatMessage(ChatRole.Function, ToolCalls(r, calls, 0))
            : new ChatMessage(name == r.Dataset.Tags.FunctionTag ? ChatRole.Function : ChatRole.Assistant,
                              Content(r, message, null, column) ?? "");
    }

    static string Role(RecordFields r, JsonObject message, int? index, string? column = null)
    {
        var node = message[r.Dataset.Tags.RoleTag];
        if (node is null || node.GetValueKind() != JsonValueKind.String)
            throw r.Error($"{(index is null ? "the message" : $"message {index}")} has no '{r.Dataset.Tags.RoleTag}' string",
                          column ?? r.Dataset.Columns.Messages);
        return node.GetValue<string>();
    }

    /// <summary>The text of a message: a string, or the text parts of a content list; null when absent.</summary>
    static string? Content(RecordFields r, JsonObject message, int? index, string? column = null)
    {
        var node = message[r.Dataset.Tags.ContentTag];
        if (node is null) return null;
        if (node.GetValueKind() == JsonValueKind.String) return node.GetValue<string>();
        if (node is JsonArray parts)
        {
            var texts = new List<string>();
            foreach (var part in parts)
            {
                if (part is JsonObject o && o["type"]?.GetValue<string>() == "text" && o["text"] is JsonValue t
                    && t.GetValueKind() == JsonValueKind.String)
                    texts.Add(t.GetValue<string>());
                else
                    throw r.Error($"{(index is null ? "the message" : $"message {index}")}: only text content parts " +
                                  "are supported", column ?? r.Dataset.Columns.Messages);
            }
            return string.Concat(texts);
        }
        throw r.Error($"{(index is null ? "the message" : $"message {index}")} content must be a string, found " +
                      RecordFields.Describe(node), column ?? r.Dataset.Columns.Messages);
    }
}
