using System.Text.RegularExpressions;

namespace LlamaBoard.Engine.Hub;

/// <summary>Which model hub a repository lives on.</summary>
public enum HubSource
{
    /// <summary>The Hugging Face hub (huggingface.co, or the mirror named by <c>HF_ENDPOINT</c>).</summary>
    HuggingFace,
    /// <summary>ModelScope (modelscope.cn), chosen by <c>USE_MODELSCOPE_HUB=1</c> as in LLaMA-Factory.</summary>
    ModelScope,
}

/// <summary>The kind of a hub repository.</summary>
public enum HubRepoType
{
    /// <summary>A model repository (<c>/api/models/…</c>, cache folder <c>models--org--name</c>).</summary>
    Model,
    /// <summary>A dataset repository (<c>/api/datasets/…</c>, cache folder <c>datasets--org--name</c>).</summary>
    Dataset,
}

/// <summary>
/// A repository id such as <c>Qwen/Qwen2.5-0.5B-Instruct</c> with its kind. The id is checked the way the hubs check
/// it (one or two segments of letters, digits, <c>-</c>, <c>_</c> and <c>.</c>), so a typo in a local path is not
/// mistaken for a hub id and sent over the network.
/// </summary>
public readonly partial record struct HubRepoId
{
    /// <summary>Creates a repository id; throws <see cref="ArgumentException"/> naming the id when it is malformed.</summary>
    public HubRepoId(string id, HubRepoType type = HubRepoType.Model)
    {
        if (!IsValid(id))
            throw new ArgumentException(
                $"'{id}' is not a hub repository id: expected 'name' or 'organisation/name' made of letters, digits, " +
                "'-', '_' and '.' (starting and ending with a letter, digit or '_'), without '--' or '..', at most 96 " +
                "characters per part.", nameof(id));
        Id = id;
        Type = type;
    }

    /// <summary>The id, <c>organisation/name</c> or <c>name</c>.</summary>
    public string Id { get; }

    /// <summary>Model or dataset.</summary>
    public HubRepoType Type { get; }

    /// <summary>Whether <paramref name="id"/> has the shape of a hub repository id.</summary>
    public static bool IsValid(string? id) =>
        id is not null && RepoIdPattern().IsMatch(id) && !id.Contains("--", StringComparison.Ordinal) &&
        !id.Contains("..", StringComparison.Ordinal) && !id.EndsWith(".git", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The repository's folder in a huggingface_hub cache: <c>models--org--name</c> or <c>datasets--org--name</c>
    /// (huggingface_hub's <c>repo_folder_name</c>).
    /// </summary>
    public string CacheFolderName => string.Join("--", [TypePlural, .. Id.Split('/')]);

    /// <summary>"models" or "datasets": the API path segment and the cache folder prefix.</summary>
    internal string TypePlural => Type == HubRepoType.Dataset ? "datasets" : "models";

    /// <inheritdoc/>
    public override string ToString() => Type == HubRepoType.Dataset ? $"dataset {Id}" : Id;

    // Each part starts and ends with a letter, digit or underscore, as huggingface_hub's validate_repo_id demands.
    [GeneratedRegex(@"^([A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?/)?[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?$")]
    private static partial Regex RepoIdPattern();
}
