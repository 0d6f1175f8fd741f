using System.Text.Json;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Engine.Data;

/// <summary>
/// The datasets a folder offers: its <c>dataset_info.json</c> in LLaMA-Factory's schema (file_name or a hub URL,
/// formatting, ranking, columns, tags, split, num_samples). Entries are validated when they are looked up, so a
/// folder with one odd entry still serves the others.
/// </summary>
public sealed class DatasetRegistry
{
    /// <summary>The file name LLaMA-Factory looks for inside dataset_dir.</summary>
    public const string FileName = "dataset_info.json";

    static readonly string[] KnownKeys =
    [
        "file_name", "hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name", "formatting",
        "ranking", "subset", "split", "folder", "num_samples", "columns", "tags", "file_sha1", "stage",
    ];

    static readonly string[] ColumnKeys =
    [
        "prompt", "query", "response", "history", "messages", "system", "tools", "images", "videos", "audios",
        "chosen", "rejected", "kto_tag",
    ];

    static readonly string[] TagKeys =
    [
        "role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag",
    ];

    readonly Dictionary<string, JsonElement> _entries;

    DatasetRegistry(string directory, string path, Dictionary<string, JsonElement> entries)
    {
        Directory = directory;
        InfoPath = path;
        _entries = entries;
    }

    /// <summary>The dataset folder (dataset_dir).</summary>
    public string Directory { get; }

    /// <summary>The dataset_info.json that was read.</summary>
    public string InfoPath { get; }

    /// <summary>Dataset names in file order.</summary>
    public IReadOnlyList<string> Names => [.. _entries.Keys];

    /// <summary>True when <paramref name="name"/> is an entry.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>Reads <c>dataset_info.json</c> from <paramref name="datasetDir"/>.</summary>
    /// <exception cref="DatasetException">The folder or file is missing, or the file is not a JSON object.</exception>
    public static DatasetRegistry Load(string datasetDir)
    {
        string dir = Path.GetFullPath(datasetDir);
        if (!System.IO.Directory.Exists(dir))
            throw new DatasetException($"the dataset folder {dir} does not exist",
                                       remedy: "set dataset_dir to the folder that holds dataset_info.json");
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
            throw new DatasetException($"{path} does not exist",
                                       remedy: "create it (see data/dataset_info.json in LlamaBoard for the schema) " +
                                               "or point dataset_dir at a folder that has one");
        JsonDocument document;
        byte[] bytes = File.ReadAllBytes(path);
        if (Runtime.Utf8Text.FindInvalid(bytes) is var invalidAt and >= 0)
            throw new DatasetException($"{FileName} is not valid UTF-8 text (byte {invalidAt})", file: path,
                                       remedy: "save the file as UTF-8");
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{FileName} is not valid JSON ({FirstSentence(e.Message)})", file: path,
                                       line: (int?)e.LineNumber + 1, column: (int?)e.BytePositionInLine + 1, inner: e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new DatasetException($"{FileName} must be a JSON object mapping dataset names to entries, " +
                                           $"found {Describe(document.RootElement.ValueKind)}", file: path);
            var entries = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
                entries[property.Name] = property.Value.Clone();
            return new DatasetRegistry(dir, path, entries);
        }
    }

    /// <summary>Builds a registry from an in-memory dataset_info object (the board's "custom dataset" form).</summary>
    public static DatasetRegistry FromJson(string datasetDir, string datasetInfoJson)
    {
        using var document = JsonDocument.Parse(datasetInfoJson);
        var entries = document.RootElement.EnumerateObject()
                              .ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        string dir = Path.GetFullPath(datasetDir);
        return new DatasetRegistry(dir, Path.Combine(dir, FileName), entries);
    }

    /// <summary>The validated attributes of one dataset.</summary>
    /// <exception cref="DatasetException">The name is unknown or the entry is malformed.</exception>
    public DatasetAttributes Get(string name)
    {
        if (!_entries.TryGetValue(name, out var entry))
            throw new DatasetException($"'{name}' is not defined in {InfoPath}", remedy: UnknownNameRemedy(name));
        return Parse(name, entry);
    }

    /// <summary>The attributes of several datasets, in order.</summary>
    public IReadOnlyList<DatasetAttributes> Get(IEnumerable<string> names) => [.. names.Select(Get)];

    /// <summary>Keys of an entry that this schema does not know (typos such as "colums").</summary>
    public IReadOnlyList<string> UnknownKeys(string name) =>
        _entries.TryGetValue(name, out var entry) && entry.ValueKind == JsonValueKind.Object
            ? [.. entry.EnumerateObject().Select(p => p.Name).Where(k => !KnownKeys.Contains(k))]
            : [];

    DatasetAttributes Parse(string name, JsonElement entry)
    {
        DatasetException Error(string key, string problem, string? remedy = null) =>
            new($"entry '{name}', key '{key}': {problem}", file: InfoPath, remedy: remedy);

        if (entry.ValueKind != JsonValueKind.Object)
            throw new DatasetException($"entry '{name}' must be a JSON object, found {Describe(entry.ValueKind)}",
                                       file: InfoPath);

        string? Str(string key)
        {
            if (!entry.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.String) throw Error(key, $"expected a string, found {Describe(v.ValueKind)}");
            return v.GetString();
        }

        (DatasetSource Source, string Location)? source = null;
        foreach (var (key, kind) in new[]
                 {
                     ("file_name", DatasetSource.File), ("hf_hub_url", DatasetSource.HuggingFaceHub),
                     ("ms_hub_url", DatasetSource.ModelScopeHub), ("om_hub_url", DatasetSource.OpenMindHub),
                     ("script_url", DatasetSource.Script), ("cloud_file_name", DatasetSource.CloudFile),
                 })
        {
            // A local file wins over hub addresses: LLaMA-Factory entries may carry both.
            if (Str(key) is { Length: > 0 } location && source is null)
                source = (kind, location);
        }
        if (source is null)
            throw new DatasetException($"entry '{name}' has no file_name (nor a hub URL)", file: InfoPath,
                                       remedy: "add \"file_name\": the data file or folder, relative to " + Directory);
        // A dataset_info.json may come from anyone (a shared folder, a download): its file names must not reach
        // files elsewhere on the machine, through '..', an absolute path or a link inside dataset_dir.
        if (source.Value.Source == DatasetSource.File && PathConfinement.CombineInside(Directory, source.Value.Location) is null)
            throw Error("file_name", $"'{source.Value.Location}' leads outside dataset_dir {Directory}; LlamaBoard reads dataset files only from inside it",
                        "give a file or folder inside dataset_dir (a relative name without '..', not a link to elsewhere), or copy the data there");

        var formatting = DatasetFormatting.Alpaca;
        if (Str("formatting") is { } f)
        {
            formatting = f switch
            {
                "alpaca" => DatasetFormatting.Alpaca,
                "sharegpt" => DatasetFormatting.ShareGpt,
                "openai" => DatasetFormatting.OpenAi,
                _ => throw Error("formatting", $"unknown value '{f}'", "use alpaca, sharegpt or openai"),
            };
        }

        bool ranking = false;
        if (entry.TryGetProperty("ranking", out var r) && r.ValueKind != JsonValueKind.Null)
        {
            if (r.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                throw Error("ranking", $"expected true or false, found {Describe(r.ValueKind)}");
            ranking = r.GetBoolean();
        }

        int? numSamples = null;
        if (entry.TryGetProperty("num_samples", out var n) && n.ValueKind != JsonValueKind.Null)
        {
            if (n.ValueKind != JsonValueKind.Number || !n.TryGetInt32(out int count) || count < 1)
                throw Error("num_samples", "expected a positive whole number");
            numSamples = count;
        }

        var columns = formatting == DatasetFormatting.OpenAi ? new DatasetColumns { Messages = "messages" } : new DatasetColumns();
        if (entry.TryGetProperty("columns", out var c) && c.ValueKind != JsonValueKind.Null)
            columns = ParseColumns(c, Error);

        var tags = formatting == DatasetFormatting.OpenAi ? DatasetTags.OpenAi : new DatasetTags();
        if (entry.TryGetProperty("tags", out var t) && t.ValueKind != JsonValueKind.Null)
            tags = ParseTags(t, tags, Error);

        return new DatasetAttributes
        {
            Name = name,
            Source = source.Value.Source,
            Location = source.Value.Location,
            Formatting = formatting,
            Ranking = ranking,
            Subset = Str("subset"),
            Split = Str("split") ?? "train",
            Folder = Str("folder"),
            NumSamples = numSamples,
            Columns = columns,
            Tags = tags,
        };
    }

    static DatasetColumns ParseColumns(JsonElement c, Func<string, string, string?, DatasetException> error)
    {
        if (c.ValueKind != JsonValueKind.Object)
            throw error("columns", $"expected an object of column names, found {Describe(c.ValueKind)}", null);
        var values = new Dictionary<string, string?>();
        foreach (var p in c.EnumerateObject())
        {
            if (!ColumnKeys.Contains(p.Name))
                throw error("columns." + p.Name, "unknown column role", "known roles: " + string.Join(", ", ColumnKeys));
            if (p.Name is "images" or "videos" or "audios")
                throw error("columns." + p.Name, "image, video and audio datasets are not supported by LlamaBoard",
                            "remove the media column to train on the text alone");
            if (p.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                throw error("columns." + p.Name, $"expected a column name, found {Describe(p.Value.ValueKind)}", null);
            values[p.Name] = p.Value.GetString();
        }
        // LLaMA-Factory replaces every column default once "columns" is present: a role left out is unused.
        string? Pick(string key) => values.TryGetValue(key, out var v) ? v : null;
        return new DatasetColumns
        {
            Prompt = Pick("prompt"), Query = Pick("query"), Response = Pick("response"), History = Pick("history"),
            Messages = Pick("messages"), System = Pick("system"), Tools = Pick("tools"), Chosen = Pick("chosen"),
            Rejected = Pick("rejected"), KtoTag = Pick("kto_tag"),
        };
    }

    static DatasetTags ParseTags(JsonElement t, DatasetTags defaults, Func<string, string, string?, DatasetException> error)
    {
        if (t.ValueKind != JsonValueKind.Object)
            throw error("tags", $"expected an object of tag names, found {Describe(t.ValueKind)}", null);
        var tags = defaults;
        foreach (var p in t.EnumerateObject())
        {
            if (!TagKeys.Contains(p.Name))
                throw error("tags." + p.Name, "unknown tag", "known tags: " + string.Join(", ", TagKeys));
            if (p.Value.ValueKind != JsonValueKind.String)
                throw error("tags." + p.Name, $"expected a string, found {Describe(p.Value.ValueKind)}", null);
            string v = p.Value.GetString()!;
            tags = p.Name switch
            {
                "role_tag" => tags with { RoleTag = v },
                "content_tag" => tags with { ContentTag = v },
                "user_tag" => tags with { UserTag = v },
                "assistant_tag" => tags with { AssistantTag = v },
                "observation_tag" => tags with { ObservationTag = v },
                "function_tag" => tags with { FunctionTag = v },
                _ => tags with { SystemTag = v },
            };
        }
        return tags;
    }

    string UnknownNameRemedy(string name)
    {
        var names = _entries.Keys.ToList();
        if (names.Count == 0) return "the file defines no datasets";
        string? close = names.OrderBy(n => Levenshtein(n, name)).First();
        string suggestion = Levenshtein(close, name) <= Math.Max(2, name.Length / 3) ? $"did you mean '{close}'? " : "";
        var shown = names.Take(20).ToList();
        return suggestion + "defined: " + string.Join(", ", shown) + (names.Count > shown.Count ? ", …" : "");
    }

    internal static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1,
                                      previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    internal static string FirstSentence(string message)
    {
        int dot = message.IndexOf(". ", StringComparison.Ordinal);
        return (dot > 0 ? message[..dot] : message).TrimEnd('.');
    }
}
