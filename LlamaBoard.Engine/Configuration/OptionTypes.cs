using System.Globalization;
using System.Reflection;

namespace LlamaBoard.Engine.Configuration;

/// <summary>The outcome of reading one value: the typed value, or the problem, plus an optional warning.</summary>
/// <param name="Value">The typed value (boxed); null for a null value.</param>
/// <param name="Error">What is wrong, completing "key: …"; null when the value was read.</param>
/// <param name="Warning">A note for a value that was read but only approximated, completing "key: …".</param>
public readonly record struct ParsedValue(object? Value, string? Error = null, string? Warning = null)
{
    /// <summary>A failed read.</summary>
    public static ParsedValue Fail(string error) => new(null, error);
}

/// <summary>
/// The type of a key's value: how YAML/JSON/override text becomes a typed value and back, and how the type is
/// named in help and messages. One instance per C# type (and per enum).
/// </summary>
public abstract class OptionType
{
    /// <summary>The type as help text names it: "integer", "number", "boolean", "text", "list of text", or the allowed values.</summary>
    public abstract string Name { get; }

    /// <summary>The type as a message names it after "expected": "an integer", "true or false", …</summary>
    public abstract string Expected { get; }

    /// <summary>The C# type of the value (without nullability).</summary>
    public abstract Type ClrType { get; }

    /// <summary>True when null is a valid value (the key may be left empty).</summary>
    public bool IsNullable { get; init; }

    /// <summary>The allowed spellings of an enum type; empty for other types.</summary>
    public virtual IReadOnlyList<string> AllowedValues => [];

    /// <summary>Reads a raw value; null spellings become null when the type is nullable.</summary>
    public virtual ParsedValue Parse(ConfigNode node)
    {
        if (node is ConfigScalar { IsNull: true })
            return IsNullable ? new ParsedValue(null) : ParsedValue.Fail($"null is not allowed; expected {Expected}");
        if (node is ConfigMapping)
            return ParsedValue.Fail($"'{node.Display}' is a mapping; expected {Expected}");
        return ParseValue(node);
    }

    /// <summary>Reads a non-null value that is a scalar or a sequence.</summary>
    protected abstract ParsedValue ParseValue(ConfigNode node);

    /// <summary>A value as messages show it: long text (a pasted file, a fuzzed config) is cut to its start.</summary>
    protected static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "… (" + text.Length.ToString(CultureInfo.InvariantCulture) + " characters)";

    /// <summary>The raw form of a value, for saving; null becomes a plain <c>null</c>.</summary>
    public ConfigNode Format(object? value) => value is null ? new ConfigScalar("null") : FormatValue(value);

    /// <summary>The raw form of a non-null value. Text scalars are marked Quoted so that writers quote them when needed.</summary>
    protected abstract ConfigNode FormatValue(object value);

    /// <summary>True when two values of this type are the same.</summary>
    public virtual bool ValuesEqual(object? a, object? b) => Equals(a, b);

    /// <summary>Picks the option type for a property's C# type.</summary>
    internal static OptionType For(Type type, bool nullable)
    {
        Type core = Nullable.GetUnderlyingType(type) ?? type;
        nullable |= core != type;
        if (core == typeof(bool)) return new BoolType { IsNullable = nullable };
        if (core == typeof(int)) return new IntType { IsNullable = nullable };
        if (core == typeof(double)) return new DoubleType { IsNullable = nullable };
        if (core == typeof(string)) return new TextType { IsNullable = nullable };
        if (core == typeof(IReadOnlyList<string>)) return new TextListType { IsNullable = nullable };
        if (core == typeof(IReadOnlyList<double>)) return new NumberListType { IsNullable = nullable };
        if (core.IsEnum) return new EnumType(core) { IsNullable = nullable };
        throw new NotSupportedException($"No option type for {type}.");
    }

    /// <summary>Formats a double the way LLaMA-Factory's examples write them: 3.0, 0.1, 1.0e-4 (readable by PyYAML too).</summary>
    internal static string FormatDouble(double value)
    {
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        int e = text.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
            return text.Contains('.', StringComparison.Ordinal) ? text : text + ".0";
        string mantissa = text[..e];
        if (!mantissa.Contains('.', StringComparison.Ordinal)) mantissa += ".0";
        return mantissa + "e" + text[(e + 1)..];
    }

    internal static bool TryParseDouble(string text, out double value) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>The single scalar of a node, or an error for a list.</summary>
    private protected ParsedValue? RequireScalar(ConfigNode node, out string text)
    {
        text = (node as ConfigScalar)?.Text ?? "";
        return node is ConfigScalar ? null : ParsedValue.Fail($"'{node.Display}' is a list; expected {Expected}");
    }
}

/// <summary>true/false (also yes/no, on/off, 1/0, as YAML 1.1 and Hugging Face's parser accept).</summary>
public sealed class BoolType : OptionType
{
    static readonly Dictionary<string, bool> Spellings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["true"] = true, ["yes"] = true, ["on"] = true, ["y"] = true, ["t"] = true, ["1"] = true,
        ["false"] = false, ["no"] = false, ["off"] = false, ["n"] = false, ["f"] = false, ["0"] = false,
    };

    public override string Name => "boolean";
    public override string Expected => "true or false";
    public override Type ClrType => typeof(bool);

    protected override ParsedValue ParseValue(ConfigNode node) =>
        RequireScalar(node, out string text)
        ?? (Spellings.TryGetValue(text.Trim(), out bool value)
            ? new ParsedValue(value)
            : ParsedValue.Fail($"'{Shorten(text)}' is not true or false"));

    protected override ConfigNode FormatValue(object value) => new ConfigScalar((bool)value ? "true" : "false");
}

/// <summary>A whole number ("8", also "8.0").</summary>
public sealed class IntType : OptionType
{
    public override string Name => "integer";
    public override string Expected => "an integer";
    public override Type ClrType => typeof(int);

    protected override ParsedValue ParseValue(ConfigNode node)
    {
        if (RequireScalar(node, out string text) is { } error) return error;
        if (int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            return new ParsedValue(value);
        // YAML writers sometimes emit whole numbers as 8.0; accept those but nothing fractional.
        if (TryParseDouble(text, out double number) && number == Math.Floor(number))
            return Math.Abs(number) <= int.MaxValue
                ? new ParsedValue((int)number)
                : ParsedValue.Fail($"'{Shorten(text)}' is too large; the largest allowed is {int.MaxValue}");
        return ParsedValue.Fail($"'{Shorten(text)}' is not an integer");
    }

    protected override ConfigNode FormatValue(object value) => new ConfigScalar(((int)value).ToString(CultureInfo.InvariantCulture));
}

/// <summary>A real number ("1.0e-4", "1e-4", "0.1").</summary>
public sealed class DoubleType : OptionType
{
    public override string Name => "number";
    public override string Expected => "a number";
    public override Type ClrType => typeof(double);

    protected override ParsedValue ParseValue(ConfigNode node) =>
        RequireScalar(node, out string text)
        ?? (TryParseDouble(text, out double value) ? new ParsedValue(value) : ParsedValue.Fail($"'{Shorten(text)}' is not a number"));

    protected override ConfigNode FormatValue(object value) => new ConfigScalar(FormatDouble((double)value));
}

/// <summary>Free text (paths, names, prompts).</summary>
public sealed class TextType : OptionType
{
    public override string Name => "text";
    public override string Expected => "a single value";
    public override Type ClrType => typeof(string);

    protected override ParsedValue ParseValue(ConfigNode node) =>
        RequireScalar(node, out string text) ?? new ParsedValue(text);

    protected override ConfigNode FormatValue(object value) => new ConfigScalar((string)value, Quoted: true);
}

/// <summary>A list of names: a comma-separated string (LLaMA-Factory's way) or a YAML/JSON list.</summary>
public sealed class TextListType : OptionType
{
    public override string Name => "list of text";
    public override string Expected => "a comma-separated list";
    public override Type ClrType => typeof(IReadOnlyList<string>);

    protected override ParsedValue ParseValue(ConfigNode node)
    {
        var items = new List<string>();
        if (node is ConfigScalar scalar)
            items.AddRange(scalar.Text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        else
            foreach (var item in ((ConfigSequence)node).Items)
            {
                if (item is not ConfigScalar { IsNull: false } itemScalar)
                    return ParsedValue.Fail($"'{node.Display}' has an item that is not a single value");
                if (itemScalar.Text.Trim().Length > 0) items.Add(itemScalar.Text.Trim());
            }
        if (items.Count == 0)
            return IsNullable ? new ParsedValue(null) : ParsedValue.Fail($"an empty list is not allowed; expected {Expected}");
        return new ParsedValue(items.AsReadOnly());
    }

    protected override ConfigNode FormatValue(object value)
    {
        var items = (IReadOnlyList<string>)value;
        // LLaMA-Factory writes lists as "a,b"; fall back to a YAML list when an item itself holds a comma.
        return items.Any(i => i.Contains(',', StringComparison.Ordinal))
            ? new ConfigSequence(items.Select(i => (ConfigNode)new ConfigScalar(i, Quoted: true)).ToList())
            : new ConfigScalar(string.Join(',', items), Quoted: true);
    }

    public override bool ValuesEqual(object? a, object? b) =>
        a is IReadOnlyList<string> x && b is IReadOnlyList<string> y ? x.SequenceEqual(y) : a is null && b is null;
}

/// <summary>A list of numbers: "0.5,0.5" or a YAML/JSON list.</summary>
public sealed class NumberListType : OptionType
{
    public override string Name => "list of numbers";
    public override string Expected => "a comma-separated list of numbers";
    public override Type ClrType => typeof(IReadOnlyList<double>);

    protected override ParsedValue ParseValue(ConfigNode node)
    {
        var texts = node is ConfigScalar scalar
            ? scalar.Text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : ((ConfigSequence)node).Items.Select(i => (i as ConfigScalar)?.Text ?? i.Display).ToArray();
        var values = new List<double>();
        foreach (string text in texts)
        {
            if (!TryParseDouble(text, out double value))
                return ParsedValue.Fail($"'{Shorten(text)}' in '{node.Display}' is not a number");
            values.Add(value);
        }
        if (values.Count == 0)
            return IsNullable ? new ParsedValue(null) : ParsedValue.Fail($"an empty list is not allowed; expected {Expected}");
        return new ParsedValue(values.AsReadOnly());
    }

    protected override ConfigNode FormatValue(object value) =>
        new ConfigScalar(string.Join(',', ((IReadOnlyList<double>)value).Select(FormatDouble)), Quoted: true);

    public override bool ValuesEqual(object? a, object? b) =>
        a is IReadOnlyList<double> x && b is IReadOnlyList<double> y ? x.SequenceEqual(y) : a is null && b is null;
}

/// <summary>One of an enum's spellings (<see cref="OptionValueAttribute"/>), or one of its aliases.</summary>
public sealed class EnumType : OptionType
{
    readonly Dictionary<string, (object Value, string? Note)> byText = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<object, string> spellings = [];
    readonly List<string> allowed = [];

    /// <summary>Reads the spellings and aliases declared on <paramref name="enumType"/>'s members.</summary>
    public EnumType(Type enumType)
    {
        ClrType = enumType;
        foreach (var field in enumType.GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            object value = field.GetValue(null)!;
            string spelling = field.GetCustomAttribute<OptionValueAttribute>()?.Spelling
                              ?? throw new InvalidOperationException($"{enumType.Name}.{field.Name} has no [OptionValue] spelling.");
            spellings[value] = spelling;
            allowed.Add(spelling);
            byText[spelling] = (value, null);
            foreach (var alias in field.GetCustomAttributes<OptionAliasAttribute>())
                byText[alias.Spelling] = (value, alias.Note);
        }
    }

    public override string Name => string.Join(" | ", allowed);
    public override string Expected => "one of " + string.Join(", ", allowed);
    public override Type ClrType { get; }
    public override IReadOnlyList<string> AllowedValues => allowed;

    /// <summary>The YAML spelling of an enum value.</summary>
    public string Spell(object value) => spellings[value];

    protected override ParsedValue ParseValue(ConfigNode node)
    {
        if (RequireScalar(node, out string text) is { } error) return error;
        if (byText.TryGetValue(text.Trim(), out var hit))
            return new ParsedValue(hit.Value, Warning: hit.Note is null ? null : $"'{text}' is read as {spellings[hit.Value]}: {hit.Note}");
        string message = $"'{Shorten(text)}' is not allowed; allowed values: {string.Join(", ", allowed)}";
        if (KeySuggestions.Closest(text, allowed) is { } guess)
            message += $" (did you mean '{guess}'?)";
        return ParsedValue.Fail(message);
    }

    protected override ConfigNode FormatValue(object value) => new ConfigScalar(spellings[value], Quoted: true);
}

/// <summary>Any raw value, kept as read: the type of keys that LlamaBoard ignores.</summary>
public sealed class RawType(string name) : OptionType
{
    public override string Name { get; } = name;
    public override string Expected => Name;
    public override Type ClrType => typeof(ConfigNode);

    /// <summary>Keeps any value, mappings and nulls included, exactly as read.</summary>
    public override ParsedValue Parse(ConfigNode node) => new(node);
    protected override ParsedValue ParseValue(ConfigNode node) => new(node);
    protected override ConfigNode FormatValue(object value) => (ConfigNode)value;
    public override bool ValuesEqual(object? a, object? b) =>
        (a as ConfigNode)?.Display == (b as ConfigNode)?.Display;
}
