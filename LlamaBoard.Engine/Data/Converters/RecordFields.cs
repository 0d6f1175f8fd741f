using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Data.Readers;

namespace LlamaBoard.Engine.Data.Converters;

/// <summary>Typed access to one record's fields, with errors that name the dataset, file, record and field.</summary>
internal sealed class RecordFields(DatasetAttributes dataset, string file, SourceRecord record)
{
    public JsonObject Fields { get; } = record.Fields ?? throw new ArgumentException("record has no fields", nameof(record));

    public DatasetAttributes Dataset => dataset;

    public ExampleOrigin Origin => new(dataset.Name, file, record.Index, record.Line);

    public DatasetException Error(string problem, string? field, string? remedy = null) =>
        new(problem, dataset.Name, file, record.Index, record.Line, null, field, remedy);

    /// <summary>The node under <paramref name="column"/>; null when the column is unmapped, absent or null.</summary>
    public JsonNode? Node(string? column) =>
        column is not null && Fields.TryGetPropertyValue(column, out var node) ? node : null;

    /// <summary>A string field; null when unmapped, absent or null; an error for any other type.</summary>
    public string? String(string? column)
    {
        var node = Node(column);
        if (node is null) return null;
        if (node.GetValueKind() == JsonValueKind.String) return node.GetValue<string>();
        throw Error($"expected a string, found {Describe(node)}", column);
    }

    /// <summary>A string field that must be present.</summary>
    public string RequiredString(string? column, string role)
    {
        if (column is null)
            throw Error($"the {role} column is not mapped", null,
                        $"add \"columns\": {{\"{role}\": \"<column name>\"}} to the entry in dataset_info.json");
        return String(column) ?? throw Error($"the {role} is missing", column);
    }

    /// <summary>A list field; null when unmapped, absent or null; an error for any other type.</summary>
    public JsonArray? List(string? column)
    {
        var node = Node(column);
        if (node is null) return null;
        return node as JsonArray ?? throw Error($"expected a list, found {Describe(node)}", column);
    }

    /// <summary>A KTO label: a boolean, or the strings true/false (CSV cells); null when absent.</summary>
    public bool? Boolean(string? column)
    {
        var node = Node(column);
        if (node is null) return null;
        switch (node.GetValueKind())
        {
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String:
                string text = node.GetValue<string>().Trim();
                if (text.Equals("true", StringComparison.OrdinalIgnoreCase)) return true;
                if (text.Equals("false", StringComparison.OrdinalIgnoreCase)) return false;
                break;
        }
        throw Error($"expected true or false, found {Describe(node)}", column);
    }

    /// <summary>Tool descriptions as JSON text: a string is taken as written, a list or object is serialised.</summary>
    public string Tools(string? column)
    {
        var node = Node(column);
        if (node is null) return "";
        string text = node.GetValueKind() switch
        {
            JsonValueKind.String => node.GetValue<string>(),
            JsonValueKind.Array or JsonValueKind.Object => node.ToJsonString(),
            _ => throw Error($"expected tool descriptions (JSON text or a list), found {Describe(node)}", column),
        };
        if (text.Trim().Length == 0) return "";
        try
        {
            var parsed = JsonNode.Parse(text);
            if (parsed is not (JsonArray or JsonObject))
                throw Error("tool descriptions must be a JSON list of function schemas", column);
        }
        catch (JsonException e)
        {
            throw Error($"tool descriptions are not valid JSON ({DatasetRegistry.FirstSentence(e.Message)})", column);
        }
        return text;
    }

    public static string Describe(JsonNode? node) => node is null ? "null" : DatasetRegistry.Describe(node.GetValueKind());
}
