using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data.Converters;

/// <summary>
/// ShareGPT records: a list of {from, value} messages (keys and role values set by <c>tags</c>). A leading system
/// message becomes the system prompt; the rest must alternate: user or observation at turns 0, 2, 4, …, assistant
/// or function call at turns 1, 3, 5, …. Ranking records end with the user's turn and carry chosen/rejected
/// messages; KTO records end with the response and carry a kto_tag.
/// </summary>
internal static class ShareGptConverter
{
    public static DataExample Convert(RecordFields r)
    {
        var columns = r.Dataset.Columns;
        var tags = r.Dataset.Tags;
        if (columns.Messages is null)
            throw r.Error("the messages column is not mapped", null,
                          "add \"columns\": {\"messages\": \"conversations\"} to the entry in dataset_info.json");
        var list = r.List(columns.Messages) ?? throw r.Error("the conversation is missing", columns.Messages);

        string system = r.String(columns.System) ?? "";
        int start = 0;
        if (list.Count > 0 && list[0] is JsonObject first && RoleOf(r, first, 0) == tags.SystemTag)
        {
            system = ContentOf(r, first, 0);
            start = 1;
        }

        var messages = new List<ChatMessage>(list.Count - start);
        for (int i = start; i < list.Count; i++)
        {
            if (list[i] is not JsonObject message)
                throw r.Error($"message {i} must be an object, found {RecordFields.Describe(list[i])}", columns.Messages);
            messages.Add(new ChatMessage(MapRole(r, RoleOf(r, message, i), i), ContentOf(r, message, i)));
        }
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

    static ChatMessage Candidate(RecordFields r, string? column, string role)
    {
        if (column is null)
            throw r.Error($"the {role} column is not mapped", null,
                          $"add \"columns\": {{\"{role}\": \"<column name>\"}} to the entry in dataset_info.json");
        var node = r.Node(column);
        if (node is not JsonObject message)
            throw r.Error($"the {role} response must be a message object, found {RecordFields.Describe(node)}", column);
        var mapped = MapRole(r, RoleOf(r, message, null, column), null, column);
        if (mapped is not (ChatRole.Assistant or ChatRole.Function))
            throw r.Error($"the {role} response has role '{RoleOf(r, message, null, column)}'; it must be " +
                          $"'{r.Dataset.Tags.AssistantTag}' or '{r.Dataset.Tags.FunctionTag}'", column);
        return new ChatMessage(mapped, ContentOf(r, message, null, column));
    }

    static string RoleOf(RecordFields r, JsonObject message, int? index, string? column = null)
    {
        string tag = r.Dataset.Tags.RoleTag;
        var node = message[tag];
        if (node is null || node.GetValueKind() != JsonValueKind.String)
            throw r.Error($"{Which(index)} has no '{tag}' (role) string, found {RecordFields.Describe(node)}",
                          column ?? r.Dataset.Columns.Messages,
                          "set \"tags\": {\"role_tag\": …} in dataset_info.json if the file uses another key");
        return node.GetValue<string>();
    }

    static string ContentOf(RecordFields r, JsonObject message, int? index, string? column = null)
    {
        string tag = r.Dataset.Tags.ContentTag;
        var node = message[tag];
        if (node is null || node.GetValueKind() != JsonValueKind.String)
            throw r.Error($"{Which(index)} has no '{tag}' (content) string, found {RecordFields.Describe(node)}",
                          column ?? r.Dataset.Columns.Messages,
                          "set \"tags\": {\"content_tag\": …} in dataset_info.json if the file uses another key");
        return node.GetValue<string>();
    }

    static ChatRole MapRole(RecordFields r, string role, int? index, string? column = null)
    {
        var tags = r.Dataset.Tags;
        if (role == tags.UserTag) return ChatRole.User;
        if (role == tags.AssistantTag) return ChatRole.Assistant;
        if (role == tags.ObservationTag) return ChatRole.Observation;
        if (role == tags.FunctionTag) return ChatRole.Function;
        if (role == tags.SystemTag)
            throw r.Error($"{Which(index)} is a system message; only the first message may be one",
                          column ?? r.Dataset.Columns.Messages);
        throw r.Error($"{Which(index)} has role '{role}', which is none of the tags " +
                      $"{tags.UserTag}, {tags.AssistantTag}, {tags.ObservationTag}, {tags.FunctionTag}, {tags.SystemTag}",
                      column ?? r.Dataset.Columns.Messages,
                      "set \"tags\" (user_tag, assistant_tag, …) in dataset_info.json to the spellings the file uses");
    }

    static string Which(int? index) => index is null ? "the message" : $"message {index}";
}
