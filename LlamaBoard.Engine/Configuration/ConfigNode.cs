using System.Globalization;

namespace LlamaBoard.Engine.Configuration;

/// <summary>
/// A value as read from YAML, JSON or a <c>key=value</c> override, before it is given a type. Keeping this
/// raw form lets one binder serve every source and lets keys that LlamaBoard ignores be written back unchanged.
/// </summary>
/// <param name="Line">1-based line in the source file; 0 when the source has no lines (overrides, JSON).</param>
public abstract record ConfigNode(int Line)
{
    /// <summary>A short rendering for messages (the scalar text, or a YAML flow form).</summary>
    public abstract string Display { get; }
}

/// <summary>A single value. <paramref name="Quoted"/> scalars are always text (<c>"null"</c> is not null).</summary>
public sealed record ConfigScalar(string Text, bool Quoted = false, int Line = 0) : ConfigNode(Line)
{
    /// <summary>True for YAML's null spellings written without quotes: empty, <c>~</c>, <c>null</c>.</summary>
    public bool IsNull => !Quoted && Text is "" or "~" or "null" or "Null" or "NULL";

    /// <inheritdoc/>
    public override string Display => IsNull ? "null" : Text;

    /// <summary>A plain (unquoted) scalar for a number.</summary>
    public static ConfigScalar Number(double value) => new(value.ToString("R", CultureInfo.InvariantCulture));
}

/// <summary>A list of values (a YAML sequence or JSON array).</summary>
public sealed record ConfigSequence(IReadOnlyList<ConfigNode> Items, int Line = 0) : ConfigNode(Line)
{
    /// <inheritdoc/>
    public override string Display => "[" + string.Join(", ", Items.Select(i => i.Display)) + "]";
}

/// <summary>A nested mapping (a YAML mapping or JSON object), such as an inline DeepSpeed config.</summary>
public sealed record ConfigMapping(IReadOnlyList<KeyValuePair<string, ConfigNode>> Entries, int Line = 0) : ConfigNode(Line)
{
    /// <inheritdoc/>
    public override string Display => "{" + string.Join(", ", Entries.Select(e => $"{e.Key}: {e.Value.Display}")) + "}";
}
