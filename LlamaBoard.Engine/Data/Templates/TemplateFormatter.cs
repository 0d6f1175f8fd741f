using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LlamaBoard.Engine.Data.Templates;

/// <summary>One prompt/response pair of a conversation, as template slots.</summary>
public sealed record FormattedTurn(IReadOnlyList<TemplateSlot> Prompt, IReadOnlyList<TemplateSlot> Response);

/// <summary>
/// Lays a conversation out with a <see cref="ChatTemplate"/>, tokenizer-free: each message becomes the slots of
/// its role's format. The first message carries the prefix and the system prompt (with tool descriptions), or,
/// for <see cref="TemplateKind.SystemInFirstUser"/>, the system text is folded into the first user message.
/// <para>
/// Reasoning templates follow the model's own chat template (Qwen 3): thoughts are kept on the final response
/// and on tool-chain answers after the last user query, removed from earlier answers, and a final response
/// without a thought gets the empty thought block, learned when <see cref="ChatTemplate.EnableThinking"/> is set
/// and part of the prompt otherwise.
/// </para>
/// </summary>
public static class TemplateFormatter
{
    /// <summary>The slots of each message (index i = messages[i]).</summary>
    /// <exception cref="FormatException">Tool descriptions or a function call are not valid JSON.</exception>
    public static List<List<TemplateSlot>> FormatMessages(ChatTemplate template, IReadOnlyList<ChatMessage> messages,
                                                          string? system, string? tools)
    {
        system = string.IsNullOrEmpty(system) ? template.DefaultSystem : system;
        string toolText = string.IsNullOrWhiteSpace(tools) ? "" : FormatTools(template, tools);
        var toolFormat = ToolFormat.Get(template.ToolFormat);
        var result = new List<List<TemplateSlot>>(messages.Count);
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            var slots = new List<TemplateSlot>();
            string content = message.Content;
            if (i == 0)
            {
                slots.AddRange(template.Prefix.Apply());
                if (system.Length > 0 || toolText.Length > 0)
                {
                    var systemSlots = template.System.Apply(system + toolText);
                    if (template.Kind == TemplateKind.SystemInFirstUser)
                        content = ((TextSlot)systemSlots[0]).Value + content; // the first slot holds the system text
                    else
                        slots.AddRange(systemSlots);
                }
            }
            slots.AddRange(message.Role switch
            {
                ChatRole.User => template.User.Apply(content, (i / 2).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ChatRole.Assistant => template.Assistant.Apply(content),
                ChatRole.Observation => template.Observation.Apply(content),
                ChatRole.Function => template.Function.Apply(
                    toolFormat.FormatFunctionTurn(content, template.ThoughtWords, template.ToolCallWords)),
                _ => throw new FormatException("a system message inside a conversation cannot be formatted"),
            });
            result.Add(slots);
        }
        return result;
    }

    /// <summary>
    /// All prompt/response pairs of a conversation with an even number of messages (multi-turn supervised data).
    /// </summary>
    public static List<FormattedTurn> FormatMultiturn(ChatTemplate template, IReadOnlyList<ChatMessage> messages,
                                                      string? system, string? tools)
    {
        if (messages.Count == 0 || messages.Count % 2 != 0)
            throw new ArgumentException("a conversation for multi-turn formatting must end with a response", nameof(messages));
        var (prepared, thoughtInPrompt) = PrepareThoughts(template, messages);
        var formatted = FormatMessages(template, prepared, system, tools);
        var turns = new List<FormattedTurn>(formatted.Count / 2);
        for (int i = 0; i < formatted.Count; i += 2)
            turns.Add(new FormattedTurn(formatted[i], formatted[i + 1]));
        ApplyThoughtPlacement(template, turns, thoughtInPrompt);
        return turns;
    }

    /// <summary>
    /// One prompt (every message but the last) and one response (the last message). For prompt-only data, pass
    /// an empty assistant message as the last message.
    /// </summary>
    public static FormattedTurn FormatOneturn(ChatTemplate template, IReadOnlyList<ChatMessage> messages, string? system, string? tools)
    {
        var turns = FormatMultiturn(template, messages, system, tools);
        var prompt = new List<TemplateSlot>();
        for (int i = 0; i < turns.Count - 1; i++)
        {
            prompt.AddRange(turns[i].Prompt);
            prompt.AddRange(turns[i].Response);
        }
        prompt.AddRange(turns[^1].Prompt);
        return new FormattedTurn(prompt, turns[^1].Response);
    }

    /// <summary>The system-prompt suffix that describes <paramref name="tools"/> (JSON list of function schemas).</summary>
    public static string FormatTools(ChatTemplate template, string tools)
    {
        JsonNode? parsed;
        try
        {
            parsed = JsonNode.Parse(tools);
        }
        catch (JsonException)
        {
            throw new FormatException("the tool descriptions are not valid JSON");
        }
        var list = parsed as JsonArray ?? (parsed is JsonObject o ? [o.DeepClone()] : throw new FormatException("tools must be a JSON list"));
        return list.Count == 0 ? "" : ToolFormat.Get(template.ToolFormat).FormatTools(list);
    }

    /// <summary>Removes thoughts from the content it does not belong to (reasoning templates only).</summary>
    static (List<ChatMessage> Messages, bool ThoughtInPrompt) PrepareThoughts(ChatTemplate template, IReadOnlyList<ChatMessage> messages)
    {
        var result = messages.ToList();
        if (template.Kind != TemplateKind.Reasoning) return (result, false);
        int lastQuery = -1;
        for (int i = 0; i < result.Count; i++)
            if (result[i].Role == ChatRole.User) lastQuery = i;
        for (int i = 1; i < result.Count - 1 && !template.PreserveThinking; i += 2)
            if (i < lastQuery) result[i] = result[i] with { Content = RemoveThought(template, result[i].Content) };
        if (!template.EnableThinking)
            result[^1] = result[^1] with { Content = RemoveThought(template, result[^1].Content) };
        return (result, !template.EnableThinking);
    }

    /// <summary>Adds the empty thought to the final response when it has none (reasoning templates only).</summary>
    static void ApplyThoughtPlacement(ChatTemplate template, List<FormattedTurn> turns, bool thoughtInPrompt)
    {
        if (template.Kind != TemplateKind.Reasoning) return;
        var last = turns[^1];
        if (HasThought(template, last.Response)) return;
        var thought = TemplateSlot.Text(template.EmptyThought);
        turns[^1] = thoughtInPrompt
            ? last with { Prompt = [.. last.Prompt, thought] }
            : last with { Response = [thought, .. last.Response] };
    }

    static bool HasThought(ChatTemplate template, IReadOnlyList<TemplateSlot> slots) =>
        slots.OfType<TextSlot>().Any(s => s.Value.Contains(template.ThoughtWords.Open.Trim(), StringComparison.Ordinal)
                                          || s.Value.Contains(template.ThoughtWords.Close.Trim(), StringComparison.Ordinal));

    /// <summary>Slots as text, with BOS and EOS written as the given token strings (null BOS: none).</summary>
    public static string ToText(IEnumerable<TemplateSlot> slots, string? bos, string eos) => string.Concat(slots.Select(slot => slot switch
    {
        TextSlot text => text.Value,
        BosSlot => bos ?? "",
        EosSlot => eos,
        TokenSlot token => token.Name,
        _ => "",
    }));

    /// <summary>Removes a thought block and the newlines after it.</summary>
    public static string RemoveThought(ChatTemplate template, string content)
    {
        var pattern = Regex.Escape(template.ThoughtWords.Open) + "(.*?)" + Regex.Escape(template.ThoughtWords.Close);
        return Regex.Replace(content, pattern, "", RegexOptions.Singleline).TrimStart('\n');
    }
}
