using System.Text;

namespace LlamaBoard.Engine.Data.Templates;

/// <summary>
/// One piece of a template: text (with <c>{{content}}</c> and <c>{{idx}}</c> placeholders), or a special token
/// emitted by id rather than by tokenizing text. Text is tokenized piece by piece, as LLaMA-Factory does.
/// </summary>
public abstract record TemplateSlot
{
    /// <summary>Text, tokenized without adding special tokens.</summary>
    public static TemplateSlot Text(string text) => new TextSlot(text);
    /// <summary>The tokenizer's BOS token, or nothing when it has none.</summary>
    public static TemplateSlot Bos { get; } = new BosSlot();
    /// <summary>The EOS token (the template's stop word when it replaces EOS).</summary>
    public static TemplateSlot Eos { get; } = new EosSlot();
    /// <summary>A named special token, by id.</summary>
    public static TemplateSlot Token(string token) => new TokenSlot(token);
}

/// <summary>Literal text.</summary>
public sealed record TextSlot(string Value) : TemplateSlot;

/// <summary>The BOS token.</summary>
public sealed record BosSlot : TemplateSlot;

/// <summary>The EOS token.</summary>
public sealed record EosSlot : TemplateSlot;

/// <summary>A special token by name.</summary>
public sealed record TokenSlot(string Name) : TemplateSlot;

/// <summary>A sequence of slots with placeholders: one message format of a template.</summary>
public sealed record SlotFormat(IReadOnlyList<TemplateSlot> Slots)
{
    /// <summary>A format of one text slot.</summary>
    public static SlotFormat Of(string text) => new([TemplateSlot.Text(text)]);

    /// <summary>A format of several slots.</summary>
    public static SlotFormat Of(params TemplateSlot[] slots) => new(slots);

    /// <summary>The empty format (no prefix).</summary>
    public static SlotFormat Empty { get; } = new([]);

    /// <summary>The slots with <c>{{content}}</c> (and <c>{{idx}}</c>) filled in once per text slot.</summary>
    public List<TemplateSlot> Apply(string content = "", string? idx = null)
    {
        var result = new List<TemplateSlot>(Slots.Count);
        foreach (var slot in Slots)
            result.Add(slot is TextSlot text ? new TextSlot(Fill(text.Value, content, idx)) : slot);
        return result;
    }

    /// <summary>Replaces the first <c>{{content}}</c> and <c>{{idx}}</c> of the template text (never inside the content).</summary>
    static string Fill(string template, string content, string? idx)
    {
        var output = new StringBuilder(template.Length + content.Length);
        bool contentDone = false, idxDone = false;
        for (int i = 0; i < template.Length;)
        {
            if (!contentDone && string.CompareOrdinal(template, i, "{{content}}", 0, 11) == 0)
            {
                output.Append(content);
                i += 11;
                contentDone = true;
            }
            else if (!idxDone && idx is not null && string.CompareOrdinal(template, i, "{{idx}}", 0, 7) == 0)
            {
                output.Append(idx);
                i += 7;
                idxDone = true;
            }
            else
                output.Append(template[i++]);
        }
        return output.ToString();
    }
}
