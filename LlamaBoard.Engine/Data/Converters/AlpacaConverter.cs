using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Data.Converters;

/// <summary>
/// Alpaca records: the user's turn is <c>instruction</c> and <c>input</c> joined by a newline (either may be
/// empty), earlier turns come from <c>history</c> ([prompt, response] pairs), and the response from
/// <c>output</c>, <c>chosen</c>/<c>rejected</c> (ranking) or <c>output</c> with a <c>kto_tag</c>.
/// </summary>
internal static class AlpacaConverter
{
    public static DataExample Convert(RecordFields r)
    {
        var columns = r.Dataset.Columns;
        var messages = new List<ChatMessage>();

        if (r.List(columns.History) is { } history)
        {
            for (int i = 0; i < history.Count; i++)
            {
                if (history[i] is not JsonArray { Count: 2 } pair || !IsString(pair[0]) || !IsString(pair[1]))
                    throw r.Error($"history turn {i} must be a [prompt, response] pair of strings, found " +
                                  RecordFields.Describe(history[i]), columns.History);
                messages.Add(new ChatMessage(ChatRole.User, pair[0]!.GetValue<string>()));
                messages.Add(new ChatMessage(ChatRole.Assistant, pair[1]!.GetValue<string>()));
            }
        }

        var query = new List<string>(2);
        if (r.String(columns.Prompt) is { Length: > 0 } instruction) query.Add(instruction);
        if (r.String(columns.Query) is { Length: > 0 } input) query.Add(input);
        messages.Add(new ChatMessage(ChatRole.User, string.Join("\n", query)));

        ChatMessage? chosen = null, rejected = null;
        bool? kto = r.Boolean(columns.KtoTag);
        if (kto is not null)
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, r.RequiredString(columns.Response, "response")));
        }
        else if (r.Dataset.Ranking)
        {
            chosen = new ChatMessage(ChatRole.Assistant, r.RequiredString(columns.Chosen, "chosen"));
            rejected = new ChatMessage(ChatRole.Assistant, r.RequiredString(columns.Rejected, "rejected"));
        }
        else if (r.String(columns.Response) is { } response)
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, response));
        }

        return new DataExample
        {
            Messages = messages,
            System = r.String(columns.System) ?? "",
            Tools = r.Tools(columns.Tools),
            Chosen = chosen,
            Rejected = rejected,
            KtoLabel = kto,
            Origin = r.Origin,
        };
    }

    static bool IsString(JsonNode? node) => node is not null && node.GetValueKind() == JsonValueKind.String;
}
