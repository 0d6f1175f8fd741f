using LlamaBoard.Engine.Models;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Settings;

namespace LlamaBoard.Web.Services;

/// <summary>A model the top bar offers by name.</summary>
/// <param name="Name">What the list shows.</param>
/// <param name="Path">The model folder it fills in.</param>
/// <param name="Template">The chat template it fills in; null when unknown.</param>
public sealed record ModelChoice(string Name, string Path, string? Template);

/// <summary>The models the top bar's model name list offers.</summary>
public interface IModelCatalog
{
    /// <summary>The choices: local folders first (sorted by name), then catalogue entries.</summary>
    IReadOnlyList<ModelChoice> List();
}

/// <summary>
/// Model folders found on this machine: <c>models/*</c> (and <c>models/*/*</c>) under the current directory and the
/// workspace, each holding a config.json, then the hub catalogue of supported families and sizes (hub id and chat
/// template; a hub id not on this machine yet is downloaded by the top bar, or when Start is pressed). Folders outside the
/// board's allowed folders (<see cref="BoardRoots"/>), links leading out included, are not listed.
/// </summary>
public sealed class LocalModelCatalog(BoardWorkspace workspace, BoardRoots allowed) : IModelCatalog
{
    /// <inheritdoc/>
    public IReadOnlyList<ModelChoice> List()
    {
        var roots = new[] { Path.GetFullPath("models"), Path.Combine(workspace.Root, "models") }.Distinct();
        var found = new SortedDictionary<string, ModelChoice>(StringComparer.OrdinalIgnoreCase);
        foreach (string root in roots.Where(r => allowed.Allows(r) && Directory.Exists(r)))
        {
            // A link leading out of the roots is neither listed nor looked into.
            var children = SafeFolders(root).Where(allowed.Allows).ToList();
            foreach (string folder in children.Concat(children.SelectMany(SafeFolders).Where(allowed.Allows)))
            {
                if (!File.Exists(Path.Combine(folder, "config.json"))) continue;
                string name = Path.GetRelativePath(root, folder).Replace('\\', '/');
                found.TryAdd(name, new ModelChoice(name, folder, null));
            }
        }
        // The demo model is offered even before it exists: the trainer creates it on first use.
        if (!found.Values.Any(m => m.Path == Path.GetFullPath(DemoModel.RelativePath)) && allowed.Allows(DemoModel.RelativePath))
            found.TryAdd("demo", new ModelChoice("demo", DemoModel.RelativePath, "qwen3"));
        var catalogue = LlamaBoard.Engine.Hub.ModelCatalog.All
            .Where(m => !found.ContainsKey(m.Name))
            .Select(m => new ModelChoice(m.Name, m.HubId, m.Template));
        return [.. found.Values, .. catalogue];
    }

    static IEnumerable<string> SafeFolders(string folder)
    {
        try
        {
            return Directory.GetDirectories(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
