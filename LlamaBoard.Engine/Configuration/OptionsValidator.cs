using System.Text.RegularExpressions;

namespace LlamaBoard.Engine.Configuration;

/// <summary>What the options are about to be used for; some keys are required only for some commands.</summary>
public enum OptionsPurpose
{
    /// <summary>No command in particular (the board's form while editing): only value and consistency checks.</summary>
    Any,
    /// <summary><c>llamaboard train</c>: training, evaluation or prediction.</summary>
    Train,
    /// <summary><c>llamaboard chat</c>.</summary>
    Chat,
    /// <summary><c>llamaboard api</c>.</summary>
    Api,
    /// <summary><c>llamaboard export</c>.</summary>
    Export,
}

/// <summary>
/// A check that needs more than the options themselves, plugged into <see cref="OptionsValidator"/> by
/// the part of the engine that owns the knowledge. For example the data worker checks that the datasets exist in
/// dataset_info.json and that stages rm and dpo get pairwise (ranking) datasets and stage kto gets datasets with
/// a kto_tag; the model loader checks that model_name_or_path holds a model.
/// </summary>
public interface IOptionsCheck
{
    /// <summary>The problems found, each naming the key, the value and what is allowed.</summary>
    IEnumerable<ConfigMessage> Check(LlamaBoardOptions options, OptionsPurpose purpose);
}

/// <summary>
/// Checks options: every key's declared constraints (from the registry), then the cross-key rules of
/// <see cref="OptionRules"/>, then any <see cref="IOptionsCheck"/> given. Every problem is reported, not only the first.
/// </summary>
public static partial class OptionsValidator
{
    /// <summary>Validates <paramref name="options"/> for <paramref name="purpose"/>.</summary>
    public static ValidationReport Validate(LlamaBoardOptions options, OptionsPurpose purpose = OptionsPurpose.Any,
                                            IEnumerable<IOptionsCheck>? checks = null)
    {
        var result = new ValidationReport();
        foreach (var key in OptionRegistry.Keys)
            foreach (var constraint in key.Constraints)
                if (ToNumber(key.GetValue(options)) is { } number && !constraint.Allows(number))
                    result.Add(ConfigMessage.Error(key.Name, $"{key.ShowValue(options)} is not allowed; it must be {constraint.Requirement}"));
        foreach (var rule in OptionRules.All)
            result.AddRange(rule.Check(options, purpose));
        foreach (var check in checks ?? [])
            result.AddRange(check.Check(options, purpose));
        return result;
    }

    /// <summary>
    /// Reading and validating together: the load messages, then the validation messages, each pointing at the line
    /// (or the command line) that set its key. A file that could not be read is not validated further.
    /// </summary>
    public static ValidationReport Validate(OptionsLoadResult loaded, OptionsPurpose purpose, IEnumerable<IOptionsCheck>? checks = null)
    {
        var result = new ValidationReport(loaded.Result.Messages);
        if (loaded.FileUnreadable) return result;
        result.AddRange(Validate(loaded.Options, purpose, checks).Messages.Select(m =>
            m.Source is null && loaded.Sources.TryGetValue(m.Key, out string? source) ? m with { Source = source } : m));
        return result;
    }

    /// <summary>True for the device spellings LlamaBoard accepts: auto, cpu, cuda, cuda:N.</summary>
    public static bool IsDeviceSpelling(string device) => DevicePattern().IsMatch(device.Trim());

    [GeneratedRegex("^(auto|cpu|cuda(:[0-9]+)?)$", RegexOptions.IgnoreCase)]
    private static partial Regex DevicePattern();

    static double? ToNumber(object? value) => value switch
    {
        int i => i,
        double d => d,
        _ => null,
    };
}
