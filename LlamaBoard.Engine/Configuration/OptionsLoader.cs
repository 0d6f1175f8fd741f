using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LlamaBoard.Engine.Configuration;

/// <summary>Options read from a configuration, with every message found while reading (unknown keys, bad values, ignored keys).</summary>
/// <param name="Options">The options; keys with bad values keep their defaults.</param>
/// <param name="Result">Errors and warnings found while reading (validation adds its own with <see cref="OptionsValidator"/>).</param>
/// <param name="Sources">For each key that was set, where its final value came from ("file.yaml:7", "command line").</param>
public sealed record OptionsLoadResult(LlamaBoardOptions Options, ValidationReport Result, IReadOnlyDictionary<string, string> Sources)
{
    /// <summary>True when the file itself could not be read (missing, not YAML/JSON, not a mapping).</summary>
    public bool FileUnreadable => Result.Errors.Any(m => m.Key.Length == 0);
}

/// <summary>
/// Reads options from LLaMA-Factory-style YAML or JSON files and <c>key=value</c> overrides (which win, as with
/// <c>llamafactory-cli train config.yaml key=value</c>). All sources become raw <see cref="ConfigNode"/>s first and
/// are then bound through the key registry, so every source gives the same messages.
/// </summary>
public static class OptionsLoader
{
    /// <summary>The source name used in messages about command-line overrides.</summary>
    public const string CommandLine = "command line";

    /// <summary>Reads a .yaml/.yml or .json file, then applies <paramref name="overrides"/>.</summary>
    public static OptionsLoadResult LoadFile(string path, IEnumerable<string>? overrides = null)
    {
        if (!File.Exists(path))
        {
            var options = new LlamaBoardOptions();
            var result = new ValidationReport();
            result.Add(ConfigMessage.Error("", $"config file '{path}' does not exist", path));
            return new OptionsLoadResult(options, result, new Dictionary<string, string>());
        }
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var result = new ValidationReport();
            result.Add(ConfigMessage.Error("", $"config file '{path}' cannot be read: {e.Message}", path));
            return new OptionsLoadResult(new LlamaBoardOptions(), result, new Dictionary<string, string>());
        }
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? LoadJson(text, path, overrides)
            : LoadYaml(text, path, overrides);
    }

    /// <summary>Reads YAML text (a mapping of keys to values); <paramref name="source"/> names it in messages.</summary>
    public static OptionsLoadResult LoadYaml(string yaml, string source = "yaml", IEnumerable<string>? overrides = null)
    {
        var result = new ValidationReport();
        var entries = ReadYaml(yaml, source, result);
        return Bind(entries, overrides, result);
    }

    /// <summary>Reads JSON text (an object of keys to values); <paramref name="source"/> names it in messages.</summary>
    public static OptionsLoadResult LoadJson(string json, string source = "json", IEnumerable<string>? overrides = null)
    {
        var result = new ValidationReport();
        var entries = ReadJson(json, source, result);
        return Bind(entries, overrides, result);
    }

    /// <summary>Options from <c>key=value</c> arguments alone, on top of the defaults.</summary>
    public static OptionsLoadResult FromOverrides(IEnumerable<string> overrides) => Bind([], overrides, new ValidationReport());

    /// <summary>Applies <c>key=value</c> arguments to existing options (for example the board's form state).</summary>
    public static ValidationReport ApplyOverrides(LlamaBoardOptions options, IEnumerable<string> overrides)
    {
        var result = new ValidationReport();
        OptionsBinder.Apply(options, ReadOverrides(overrides, result), result);
        return result;
    }

    static OptionsLoadResult Bind(List<Entry> entries, IEnumerable<string>? overrides, ValidationReport result)
    {
        entries.AddRange(ReadOverrides(overrides ?? [], result));
        var options = new LlamaBoardOptions();
        var sources = OptionsBinder.Apply(options, entries, result);
        return new OptionsLoadResult(options, result, sources);
    }

    /// <summary>One key and its raw value, with where it came from.</summary>
    internal readonly record struct Entry(string Key, ConfigNode Value, string Source);

    static List<Entry> ReadYaml(string yaml, string source, ValidationReport result)
    {
        var entries = new List<Entry>();
        if (YamlLimits.CheckDepth(yaml) is { } tooDeep)
        {
            result.Add(ConfigMessage.Error("", $"not a usable configuration: it {tooDeep}", source));
            return entries;
        }
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            string problem = e.InnerException is YamlException inner ? inner.Message : e.Message;
            result.Add(ConfigMessage.Error("", $"not valid YAML: {problem}", $"{source}:{e.Start.Line}"));
            return entries;
        }
        if (stream.Documents.Count == 0) return entries;
        if (stream.Documents.Count > 1)
            result.Add(ConfigMessage.Error("", "holds several YAML documents (---); keep one", source));
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            if (node is not YamlScalarNode { Value: null or "" })
                result.Add(ConfigMessage.Error("", "must hold key: value lines at the top level", $"{source}:{node.Start.Line}"));
            return entries;
        }
        var budget = new YamlLimits.Budget();
        foreach (var (keyNode, valueNode) in root.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { Length: > 0 } key })
            {
                result.Add(ConfigMessage.Error("", "a key must be a plain name", $"{source}:{keyNode.Start.Line}"));
                continue;
            }
            try
            {
                entries.Add(new Entry(key, FromYaml(valueNode, budget, 1), $"{source}:{keyNode.Start.Line}"));
            }
            catch (YamlLimits.TooLargeException e)
            {
                result.Add(ConfigMessage.Error("", $"not a usable configuration: it {e.Message}", $"{source}:{keyNode.Start.Line}"));
                return [];
            }
        }
        return entries;
    }

    static ConfigNode FromYaml(YamlNode node, YamlLimits.Budget budget, int depth)
    {
        budget.Take(depth);
        int line = (int)node.Start.Line;
        return node switch
        {
            YamlScalarNode scalar => new ConfigScalar(scalar.Value ?? "", scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any), line),
            YamlSequenceNode sequence => new ConfigSequence(sequence.Children.Select(c => FromYaml(c, budget, depth + 1)).ToList(), line),
            // A key that is not a plain value is shown by its kind only: ToString() walks the node and has no bound.
            YamlMappingNode mapping => new ConfigMapping(
                mapping.Children.Select(c => new KeyValuePair<string, ConfigNode>(
                    (c.Key as YamlScalarNode)?.Value ?? $"({c.Key.NodeType})", FromYaml(c.Value, budget, depth + 1))).ToList(), line),
            _ => new ConfigScalar($"({node.NodeType})", Quoted: true, line),
        };
    }

    static List<Entry> ReadJson(string json, string source, ValidationReport result)
    {
        var entries = new List<Entry>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            result.Add(ConfigMessage.Error("", $"not valid JSON: {e.Message}", $"{source}:{(e.LineNumber ?? 0) + 1}"));
            return entries;
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                result.Add(ConfigMessage.Error("", "must hold a JSON object of keys and values", source));
                return entries;
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    result.Add(ConfigMessage.Error(property.Name, "set twice; keep one", source));
                entries.Add(new Entry(property.Name, FromJson(property.Value), source));
            }
        }
        return entries;
    }

    static ConfigNode FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => new ConfigScalar(element.GetString() ?? "", Quoted: true),
        JsonValueKind.Null => new ConfigScalar("null"),
        JsonValueKind.Array => new ConfigSequence(element.EnumerateArray().Select(FromJson).ToList()),
        JsonValueKind.Object => new ConfigMapping(element.EnumerateObject()
            .Select(p => new KeyValuePair<string, ConfigNode>(p.Name, FromJson(p.Value))).ToList()),
        _ => new ConfigScalar(element.GetRawText()), // numbers, true, false
    };

    static List<Entry> ReadOverrides(IEnumerable<string> overrides, ValidationReport result)
    {
        var entries = new List<Entry>();
        foreach (string argument in overrides)
        {
            int equals = argument.IndexOf('=', StringComparison.Ordinal);
            string key = equals > 0 ? argument[..equals].Trim() : "";
            if (key.Length == 0)
            {
                result.Add(ConfigMessage.Error("", $"'{argument}' is not an override; write key=value, e.g. learning_rate=1.0e-4", CommandLine));
                continue;
            }
            string value = argument[(equals + 1)..].Trim();
            if (ParseOverrideValue(value) is { } node)
                entries.Add(new Entry(key, node, CommandLine));
            else
                result.Add(ConfigMessage.Error(key, $"'{value}' is not a valid list; write [a, b] or a,b", CommandLine));
        }
        return entries;
    }

    /// <summary>
    /// An override's value: [a, b] is a list, quotes make text, anything else is one plain value (so commas stay
    /// in the text, and list keys split them, as LLaMA-Factory does).
    /// </summary>
    static ConfigNode? ParseOverrideValue(string value)
    {
        if (value.Length >= 2 && (value[0] == '"' && value[^1] == '"' || value[0] == '\'' && value[^1] == '\''))
            return new ConfigScalar(value[1..^1], Quoted: true);
        if (value.StartsWith('['))
        {
            try
            {
                if (YamlLimits.CheckDepth(value) is not null) return null;
                var stream = new YamlStream();
                stream.Load(new StringReader(value));
                return stream.Documents[0].RootNode is YamlSequenceNode sequence ? FromYaml(sequence, new YamlLimits.Budget(), 1) with { Line = 0 } : null;
            }
            catch (Exception e) when (e is YamlException or YamlLimits.TooLargeException)
            {
                return null;
            }
        }
        return new ConfigScalar(value);
    }
}
