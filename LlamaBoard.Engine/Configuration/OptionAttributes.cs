using System.Globalization;

namespace LlamaBoard.Engine.Configuration;

/// <summary>
/// Marks a property of an options group as one configuration key. The key registry is built from these
/// attributes, so a property, its LLaMA-Factory key name, its YAML section and its help text live together.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class OptionKeyAttribute(string name, OptionSection section, string doc) : Attribute
{
    /// <summary>The snake_case key, spelled exactly as LLaMA-Factory spells it.</summary>
    public string Name { get; } = name;

    /// <summary>Where the key is written when options are saved as YAML (<c>### model</c>, <c>### train</c>, …).</summary>
    public OptionSection Section { get; } = section;

    /// <summary>One or two sentences of help, shown by <c>llamaboard keys</c> and the board's forms.</summary>
    public string Doc { get; } = doc;
}

/// <summary>Marks a property whose value is a nested options group (for example the LoRA settings).</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class OptionGroupAttribute(string name) : Attribute
{
    /// <summary>The group's name in <see cref="OptionKey.Group"/> paths, such as <c>lora</c>.</summary>
    public string Name { get; } = name;
}

/// <summary>The spelling of an enum member in YAML, JSON and on the command line.</summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class OptionValueAttribute(string spelling) : Attribute
{
    /// <summary>The spelling, for example <c>cosine_with_restarts</c>.</summary>
    public string Spelling { get; } = spelling;
}

/// <summary>
/// Another spelling that LLaMA-Factory or Hugging Face accepts for an enum member. With a
/// <see cref="Note"/>, reading it also gives a warning (the value is only approximated here).
/// </summary>
[AttributeUsage(AttributeTargets.Field, AllowMultiple = true, Inherited = false)]
public sealed class OptionAliasAttribute(string spelling) : Attribute
{
    /// <summary>The accepted spelling.</summary>
    public string Spelling { get; } = spelling;

    /// <summary>Why the spelling is read as this member; null when it is a plain synonym.</summary>
    public string? Note { get; init; }
}

/// <summary>A check on a numeric key's value; null values are not checked.</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = true, Inherited = false)]
public abstract class OptionConstraintAttribute : Attribute
{
    /// <summary>True when <paramref name="value"/> is allowed.</summary>
    public abstract bool Allows(double value);

    /// <summary>What is allowed, completing the sentence "it must be …".</summary>
    public abstract string Requirement { get; }

    private protected static string Text(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}

/// <summary>The value must be at least <see cref="Minimum"/>.</summary>
public sealed class AtLeastAttribute(double minimum) : OptionConstraintAttribute
{
    public double Minimum { get; } = minimum;
    public override bool Allows(double value) => value >= Minimum;
    public override string Requirement => $"at least {Text(Minimum)}";
}

/// <summary>The value must be greater than <see cref="Bound"/>.</summary>
public sealed class GreaterThanAttribute(double bound) : OptionConstraintAttribute
{
    public double Bound { get; } = bound;
    public override bool Allows(double value) => value > Bound;
    public override string Requirement => $"greater than {Text(Bound)}";
}

/// <summary>The value must be at most <see cref="Maximum"/>.</summary>
public sealed class AtMostAttribute(double maximum) : OptionConstraintAttribute
{
    public double Maximum { get; } = maximum;
    public override bool Allows(double value) => value <= Maximum;
    public override string Requirement => $"at most {Text(Maximum)}";
}

/// <summary>The value must be less than <see cref="Bound"/>.</summary>
public sealed class LessThanAttribute(double bound) : OptionConstraintAttribute
{
    public double Bound { get; } = bound;
    public override bool Allows(double value) => value < Bound;
    public override string Requirement => $"less than {Text(Bound)}";
}

/// <summary>The value must be one of a few integers (for example 4 or 8 bits).</summary>
public sealed class OneOfAttribute(params int[] values) : OptionConstraintAttribute
{
    public IReadOnlyList<int> Values { get; } = values;
    public override bool Allows(double value) => Values.Any(v => v == value);
    public override string Requirement => "one of " + string.Join(", ", Values);
}

/// <summary>The value must not be zero.</summary>
public sealed class NonZeroAttribute : OptionConstraintAttribute
{
    public override bool Allows(double value) => value != 0;
    public override string Requirement => "different from 0";
}
