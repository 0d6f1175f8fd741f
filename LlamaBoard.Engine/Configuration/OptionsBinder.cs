namespace LlamaBoard.Engine.Configuration;

/// <summary>
/// Puts raw key/value entries into options through the key registry: parses each value to its key's type,
/// reports unknown keys with the closest known one, follows renamed keys, refuses derived keys, keeps ignored
/// keys and reports the ones set to anything but LLaMA-Factory's default. Later entries win.
/// </summary>
internal static class OptionsBinder
{
    /// <summary>Binds every entry; returns where each key's final value came from.</summary>
    public static Dictionary<string, string> Apply(LlamaBoardOptions options, IEnumerable<OptionsLoader.Entry> entries, ValidationReport result)
    {
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        var lastSet = new Dictionary<string, int>(StringComparer.Ordinal);
        int index = 0;
        foreach (var (name, value, source) in entries)
        {
            index++;
            string keyName = name;
            if (OptionRegistry.RenamedKeys.TryGetValue(name, out string? renamed))
            {
                result.Add(ConfigMessage.Warning(name, $"was renamed to {renamed}; read as {renamed}", source));
                keyName = renamed;
            }
            if (OptionRegistry.DerivedKeys.TryGetValue(keyName, out string? derivation))
            {
                result.Add(ConfigMessage.Error(keyName, $"cannot be set; {derivation}", source));
                continue;
            }
            if (OptionRegistry.Find(keyName) is not { } key)
            {
                result.Add(ConfigMessage.Error(keyName, UnknownKey(keyName), source));
                continue;
            }

            var parsed = key.Type.Parse(value);
            if (parsed.Error is { } error)
            {
                result.Add(ConfigMessage.Error(key.Name, key.IsSecret ? "has a value that cannot be read" : error, source));
                continue;
            }
            key.SetValue(options, parsed.Value);
            if (parsed.Warning is { } warning)
                result.Add(ConfigMessage.Warning(key.Name, warning, source));
            sources[key.Name] = source;
            lastSet[key.Name] = index;
        }

        // Reported once, on the final value, so an override back to the default silences the warning.
        var ignored = OptionRegistry.Keys.Where(k => k.Support == OptionSupport.Ignored && lastSet.ContainsKey(k.Name));
        foreach (var key in ignored.OrderBy(k => lastSet[k.Name]))
            if (!key.IsDefault(options))
                result.Add(IgnoredWarning(key, options, sources[key.Name]));
        return sources;
    }

    /// <summary>The warning for an ignored key that is set: its value and why LlamaBoard ignores it.</summary>
    public static ConfigMessage IgnoredWarning(OptionKey key, LlamaBoardOptions options, string? source) =>
        ConfigMessage.Warning(key.Name, $"{key.ShowValue(options)} is ignored; {key.Doc}", source);

    /// <summary>"unknown key; did you mean …?" with the closest known name, if one is close.</summary>
    public static string UnknownKey(string name) =>
        KeySuggestions.Closest(name, OptionRegistry.AllNames) is { } guess
            ? $"unknown key; did you mean {guess}?"
            : "unknown key; it is not a LLaMA-Factory or LlamaBoard option ('llamaboard keys' lists them all)";
}
