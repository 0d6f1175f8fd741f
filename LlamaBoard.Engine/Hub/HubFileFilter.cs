using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlamaBoard.Engine.Hub;

/// <summary>
/// Which files of a repository to fetch. Patterns are shell globs matched against the whole '/'-separated path, as
/// huggingface_hub's <c>allow_patterns</c> (Python's fnmatch: <c>*</c> also crosses '/', <c>?</c> one character,
/// <c>[abc]</c>/<c>[!abc]</c> sets; a pattern ending in '/' means everything under that folder).
/// </summary>
public sealed record HubFileFilter
{
    /// <summary>Every file of the repository.</summary>
    public static HubFileFilter All { get; } = new();

    /// <summary>
    /// What a model load needs, as transformers fetches it: the top-level configuration and tokenizer files
    /// (<c>*.json</c>, <c>*.model</c>, <c>*.txt</c>, <c>*.jinja</c>, <c>*.tiktoken</c>) and the safetensors weights
    /// (the shards named by <c>model.safetensors.index.json</c>, else <c>model.safetensors</c>, plus a PEFT
    /// <c>adapter_model.safetensors</c>), leaving out duplicates such as <c>original/*.pth</c> or
    /// <c>consolidated.safetensors</c>.
    /// </summary>
    public static HubFileFilter ModelFiles { get; } = new() { ModelFilesOnly = true };

    /// <summary>Globs a file must match one of; empty means all files.</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>Globs that leave a file out even when <see cref="Include"/> matched it.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Restrict to the files a model load needs (see <see cref="ModelFiles"/>).</summary>
    public bool ModelFilesOnly { get; init; }

    /// <summary>The safetensors index that names a sharded model's weight files.</summary>
    public const string SafetensorsIndex = "model.safetensors.index.json";

    static readonly string[] ModelSideFileExtensions = [".json", ".model", ".txt", ".jinja", ".tiktoken"];

    /// <summary>Whether <paramref name="path"/> passes <see cref="Include"/> and <see cref="Exclude"/>.</summary>
    public bool MatchesPatterns(string path) =>
        (Include.Count == 0 || Include.Any(p => Glob.Matches(p, path))) && !Exclude.Any(p => Glob.Matches(p, path));

    /// <summary>
    /// The files to fetch out of <paramref name="paths"/>. With <see cref="ModelFilesOnly"/> and a sharded model,
    /// <paramref name="readIndex"/> is asked for the index's text (already downloaded); it may return null when
    /// the index is not available yet, and then only the index and side files are selected.
    /// </summary>
    public IReadOnlyList<string> Select(IReadOnlyCollection<string> paths, Func<string, string?>? readIndex, string repoForMessages)
    {
        IEnumerable<string> chosen = paths;
        if (ModelFilesOnly)
        {
            var set = new HashSet<string>(paths, StringComparer.Ordinal);
            var picked = set.Where(p => !p.Contains('/', StringComparison.Ordinal) &&
                                        ModelSideFileExtensions.Any(e => p.EndsWith(e, StringComparison.OrdinalIgnoreCase))).ToHashSet(StringComparer.Ordinal);
            if (set.Contains(SafetensorsIndex))
            {
                if (readIndex?.Invoke(SafetensorsIndex) is { } index)
                    foreach (string shard in IndexShards(index, repoForMessages))
                        picked.Add(set.Contains(shard) ? shard : throw new HubException(HubErrorKind.NoUsableFiles,
                            $"{repoForMessages}: {SafetensorsIndex} names weight file '{shard}', which the repository does not contain."));
            }
            else if (set.Contains("model.safetensors")) picked.Add("model.safetensors");
            if (set.Contains("adapter_model.safetensors")) picked.Add("adapter_model.safetensors");

            bool hasWeights = picked.Any(p => p.EndsWith(".safetensors", StringComparison.Ordinal)) || set.Contains(SafetensorsIndex);
            if (!hasWeights && set.Any(p => p.EndsWith(".bin", StringComparison.Ordinal) || p.EndsWith(".pth", StringComparison.Ordinal)))
                throw new HubException(HubErrorKind.NoUsableFiles,
                    $"{repoForMessages} has PyTorch pickle weights (.bin/.pth) but no safetensors, and LlamaBoard reads only safetensors. " +
                    "Pick a repository that ships model.safetensors (most do), or convert the weights, or pass --include to download files as they are.");
            chosen = picked;
        }
        return chosen.Where(MatchesPatterns).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The distinct weight files named by a safetensors index's <c>weight_map</c>.</summary>
    internal static IReadOnlyList<string> IndexShards(string indexJson, string repoForMessages)
    {
        try
        {
            using var json = JsonDocument.Parse(indexJson);
            if (!json.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new HubException(HubErrorKind.NoUsableFiles, $"{repoForMessages}: {SafetensorsIndex} has no \"weight_map\" object.");
            return map.EnumerateObject().Select(p => p.Value.GetString() ?? "").Where(s => s.Length > 0).Distinct().ToList();
        }
        catch (JsonException e)
        {
            throw new HubException(HubErrorKind.NoUsableFiles, $"{repoForMessages}: {SafetensorsIndex} is not valid JSON ({e.Message}).", e);
        }
    }
}

/// <summary>Python fnmatch-style globs over repository paths (what huggingface_hub's pattern filters use).</summary>
internal static class Glob
{
    static readonly Dictionary<string, Regex> Cache = new(StringComparer.Ordinal);

    public static bool Matches(string pattern, string path)
    {
        // huggingface_hub: "a folder/" means "a folder/*".
        if (pattern.EndsWith('/')) pattern += "*";
        Regex regex;
        lock (Cache)
            if (!Cache.TryGetValue(pattern, out regex!))
                Cache[pattern] = regex = new Regex(ToRegex(pattern), RegexOptions.Singleline | RegexOptions.CultureInvariant);
        return regex.IsMatch(path);
    }

    internal static string ToRegex(string pattern)
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '*': sb.Append(".*"); break;
                case '?': sb.Append('.'); break;
                case '[':
                    int close = pattern.IndexOf(']', i + (i + 1 < pattern.Length && pattern[i + 1] is '!' or ']' ? 2 : 1));
                    if (close < 0)
                    {
                        sb.Append(@"\[");
                        break;
                    }
                    string set = pattern[(i + 1)..close];
                    sb.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]).Replace(@"\-", "-", StringComparison.Ordinal)
                        : Regex.Escape(set).Replace(@"\-", "-", StringComparison.Ordinal)).Append(']');
                    i = close;
                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        return sb.Append('$').ToString();
    }
}
