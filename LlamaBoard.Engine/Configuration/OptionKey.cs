using System.Reflection;

namespace LlamaBoard.Engine.Configuration;

/// <summary>Whether LlamaBoard acts on a key.</summary>
public enum OptionSupport
{
    /// <summary>A typed key of the options model; the engine acts on it.</summary>
    Supported,
    /// <summary>A LLaMA-Factory key that LlamaBoard knows but does not act on; a non-default value is reported.</summary>
    Ignored,
}

/// <summary>
/// One entry of the key registry: a key's name, where it is saved, its type, default and help, whether
/// LlamaBoard acts on it, and how to read and write it on a <see cref="LlamaBoardOptions"/>.
/// </summary>
public sealed class OptionKey
{
    readonly Func<LlamaBoardOptions, object?> getter;
    readonly Action<LlamaBoardOptions, object?> setter;

    internal OptionKey(string name, OptionSection section, string group, OptionType type, string doc, OptionSupport support,
                       Func<LlamaBoardOptions, object?> getter, Action<LlamaBoardOptions, object?> setter)
    {
        Name = name;
        Section = section;
        Group = group;
        Type = type;
        Doc = doc;
        Support = support;
        this.getter = getter;
        this.setter = setter;
    }

    /// <summary>The snake_case key (LLaMA-Factory's spelling).</summary>
    public string Name { get; }

    /// <summary>The YAML section the key is saved under.</summary>
    public OptionSection Section { get; }

    /// <summary>The options group path, such as "finetuning.lora"; "ignored" for ignored keys.</summary>
    public string Group { get; }

    /// <summary>How values are read, written and named.</summary>
    public OptionType Type { get; }

    /// <summary>Help text; for ignored keys, why LlamaBoard does not act on it.</summary>
    public string Doc { get; }

    /// <summary>Whether LlamaBoard acts on the key.</summary>
    public OptionSupport Support { get; }

    /// <summary>
    /// The default value: for supported keys, what a new <see cref="LlamaBoardOptions"/> holds; for ignored keys,
    /// LLaMA-Factory's default as a raw value (null when it has none).
    /// </summary>
    public object? DefaultValue { get; internal init; }

    /// <summary>Numeric checks declared on the property (minimum, allowed values, …).</summary>
    public IReadOnlyList<OptionConstraintAttribute> Constraints { get; internal init; } = [];

    /// <summary>The property behind a supported key (for binding forms); null for ignored keys.</summary>
    public PropertyInfo? Property { get; internal init; }

    /// <summary>True for credentials: messages never show their value.</summary>
    public bool IsSecret { get; internal init; }

    /// <summary>The key's current value in <paramref name="options"/> (a <see cref="ConfigNode"/> or null for ignored keys).</summary>
    public object? GetValue(LlamaBoardOptions options) => getter(options);

    /// <summary>Sets the key's value; the value must have the key's type (null only where allowed).</summary>
    public void SetValue(LlamaBoardOptions options, object? value) => setter(options, value);

    /// <summary>True when <paramref name="options"/> holds the default for this key.</summary>
    public bool IsDefault(LlamaBoardOptions options) => Support == OptionSupport.Ignored
        ? GetValue(options) is not { } node || IgnoredKeyTable.MatchesDefault((ConfigNode)node, (ConfigNode?)DefaultValue)
        : Type.ValuesEqual(GetValue(options), DefaultValue);

    /// <summary>The value as text for messages and tables ("null", "true", "q_proj,v_proj", "1.0e-4"); secrets hidden.</summary>
    public string Show(object? value)
    {
        if (IsSecret && value is not null) return "<hidden>";
        return value is ConfigNode node ? node.Display : Type.Format(value).Display;
    }

    /// <summary>The key's current value in <paramref name="options"/> as text, as <see cref="Show"/> writes it.</summary>
    public string ShowValue(LlamaBoardOptions options) => Show(GetValue(options));

    /// <inheritdoc/>
    public override string ToString() => Name;
}
