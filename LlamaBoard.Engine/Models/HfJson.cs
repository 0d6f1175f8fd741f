using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaBoard.Engine.Models;

/// <summary>JSON the way transformers writes it: keys sorted, two-space indent, Python float spellings.</summary>
public static class HfJson
{
    /// <summary>A number node spelled as Python's repr would ("10000.0", "1e-06", "0.02").</summary>
    public static JsonNode Number(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
            throw new ArgumentException("JSON cannot hold NaN or infinity.", nameof(value));
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        int e = text.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            // .NET writes 1E-06 / 1E+16; Python writes 1e-06 / 1e+16 (exponent at least two digits).
            string mantissa = text[..e];
            string exponent = text[(e + 1)..];
            char sign = exponent[0] == '-' ? '-' : '+';
            string digits = exponent.TrimStart('+', '-').PadLeft(2, '0');
            text = $"{mantissa}e{sign}{digits}";
        }
        else if (!text.Contains('.', StringComparison.Ordinal))
        {
            text += ".0";
        }
        return JsonNode.Parse(text)!;
    }

    /// <summary>A number node for <paramref name="value"/>, spelled as an integer when it is one.</summary>
    public static JsonNode IntegerOrNumber(double value) =>
        Math.Abs(value - Math.Round(value)) < 1e-9 && Math.Abs(value) < 1e15
            ? JsonValue.Create((long)Math.Round(value)) : Number(value);

    /// <summary>Serialises with sorted keys (recursively), indent 2 and a final newline, like json.dumps(indent=2, sort_keys=True).</summary>
    public static string Write(JsonNode node)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 2 }))
            Sorted(node)!.WriteTo(writer);
        return Encoding.UTF8.GetString(buffer.ToArray()).ReplaceLineEndings("\n") + "\n";
    }

    static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.OrderBy(p => p.Key, StringComparer.Ordinal)
                                             .Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray array => new JsonArray(array.Select(Sorted).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };

    /// <summary>Parses a JSON object file; the error names the file.</summary>
    /// <exception cref="ModelConfigException">Missing file, invalid JSON, or not an object.</exception>
    public static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path)) throw new ModelConfigException(path, $"'{path}' does not exist.");
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions
            {
                // transformers writes plain JSON, but hand-edited configs sometimes carry trailing commas.
                AllowTrailingCommas = true,
                // Python keeps the last of duplicated keys; JsonNode would throw an ArgumentException only when the
                // object is first read, far from here. Refuse them now, with the file's name.
                AllowDuplicateProperties = false,
            });
        }
        catch (JsonException e)
        {
            throw new ModelConfigException(path, $"'{path}' is not valid JSON: {e.Message}", e);
        }
        return node as JsonObject ?? throw new ModelConfigException(path, $"'{path}' must hold a JSON object.");
    }
}

/// <summary>A model folder's configuration is missing, malformed, or describes something unsupported.</summary>
public sealed class ModelConfigException : Exception
{
    /// <summary>Creates the exception; the message names the file.</summary>
    public ModelConfigException(string path, string message, Exception? inner = null) : base(message, inner) => FilePath = path;

    /// <summary>The configuration file concerned.</summary>
    public string FilePath { get; }
}
