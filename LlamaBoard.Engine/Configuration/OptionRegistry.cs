using System.Reflection;

namespace LlamaBoard.Engine.Configuration;

/// <summary>
/// The key registry: every key LlamaBoard knows, in one table that drives loading, saving, validation,
/// suggestions, <c>llamaboard keys</c> and the board's forms. Supported keys come from the
/// <see cref="OptionKeyAttribute"/>s of the options groups (in declaration order); ignored, renamed and derived
/// LLaMA-Factory keys come from <see cref="IgnoredKeyTable"/>.
/// </summary>
public static class OptionRegistry
{
    static readonly Lazy<Table> Built = new(Build);

    /// <summary>Every key: supported ones in declaration order, then ignored ones in table order.</summary>
    public static IReadOnlyList<OptionKey> Keys => Built.Value.Keys;

    /// <summary>Old key names that LLaMA-Factory renamed, mapped to the current name.</summary>
    public static IReadOnlyDictionary<string, string> RenamedKeys => IgnoredKeyTable.Renamed;

    /// <summary>Keys that LLaMA-Factory derives from others and refuses to be given, with what they follow from.</summary>
    public static IReadOnlyDictionary<string, string> DerivedKeys => IgnoredKeyTable.Derived;

    /// <summary>The key named <paramref name="name"/> (exact spelling), or null.</summary>
    public static OptionKey? Find(string name) => Built.Value.ByName.GetValueOrDefault(name);

    /// <summary>The key named <paramref name="name"/>; throws for unknown names (a programming error).</summary>
    public static OptionKey Get(string name) =>
        Find(name) ?? throw new ArgumentException($"'{name}' is not a known option key.", nameof(name));

    /// <summary>Every name a configuration may use: keys, renamed keys and derived keys (for suggestions).</summary>
    public static IEnumerable<string> AllNames => Keys.Select(k => k.Name).Concat(RenamedKeys.Keys).Concat(DerivedKeys.Keys);

    sealed record Table(IReadOnlyList<OptionKey> Keys, IReadOnlyDictionary<string, OptionKey> ByName);

    static Table Build()
    {
        var keys = new List<OptionKey>();
        var defaults = new LlamaBoardOptions();
        Walk(typeof(LlamaBoardOptions), "", o => o, keys, defaults);
        keys.AddRange(IgnoredKeyTable.Keys);

        var byName = new Dictionary<string, OptionKey>(StringComparer.Ordinal);
        foreach (var key in keys)
            if (!byName.TryAdd(key.Name, key))
                throw new InvalidOperationException($"Option key '{key.Name}' is declared twice.");
        return new Table(keys, byName);
    }

    static void Walk(Type type, string path, Func<LlamaBoardOptions, object> owner, List<OptionKey> keys, LlamaBoardOptions defaults)
    {
        var nullability = new NullabilityInfoContext();
        // Declaration order: the order keys are documented and saved in.
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (property.GetCustomAttribute<OptionGroupAttribute>() is { } group)
            {
                string groupPath = path.Length == 0 ? group.Name : $"{path}.{group.Name}";
                Walk(property.PropertyType, groupPath, o => property.GetValue(owner(o))!, keys, defaults);
                continue;
            }
            if (property.GetCustomAttribute<OptionKeyAttribute>() is not { } attribute) continue;

            bool nullable = nullability.Create(property).WriteState == NullabilityState.Nullable;
            var optionType = OptionType.For(property.PropertyType, nullable);
            Func<LlamaBoardOptions, object?> get = o => property.GetValue(owner(o));
            Action<LlamaBoardOptions, object?> set = (o, value) => property.SetValue(owner(o), value);
            keys.Add(new OptionKey(attribute.Name, attribute.Section, path, optionType, attribute.Doc, OptionSupport.Supported, get, set)
            {
                DefaultValue = get(defaults),
                Constraints = property.GetCustomAttributes<OptionConstraintAttribute>().ToList(),
                Property = property,
            });
        }
    }
}
