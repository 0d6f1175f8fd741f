using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Settings;

namespace LlamaBoard.Web.Services;

/// <summary>
/// Save arguments / Load arguments: LLaMA-Factory YAML files in the workspace's configs folder, written by the same
/// writer as the command line, so <c>llamaboard train &lt;file&gt;</c> runs them unchanged.
/// </summary>
public sealed class ArgumentFiles(BoardWorkspace workspace)
{
    /// <summary>The saved files' names (without folder), newest first.</summary>
    public IReadOnlyList<string> List() =>
        Directory.Exists(workspace.ConfigsDir)
            ? new DirectoryInfo(workspace.ConfigsDir).EnumerateFiles("*.yaml").OrderByDescending(f => f.LastWriteTimeUtc).Select(f => f.Name).ToList()
            : [];

    /// <summary>The full path of a config name; ".yaml" is added when missing. Names may not leave the configs folder.</summary>
    public string PathOf(string name)
    {
        string file = name.Trim();
        if (file.Length == 0 || file.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || file is "." or "..")
            throw new ArgumentException($"'{name}' is not a valid config name; use letters, digits, '-', '_' and '.'.", nameof(name));
        if (!file.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)) file += ".yaml";
        return Path.Combine(workspace.ConfigsDir, file);
    }

    /// <summary>Writes the options (changed keys only) and returns the file's path.</summary>
    public string Save(LlamaBoardOptions options, string name)
    {
        string path = PathOf(name);
        OptionsWriter.Save(options, path);
        return path;
    }

    /// <summary>Reads a saved file, with the loader's messages.</summary>
    public OptionsLoadResult Load(string name) => OptionsLoader.LoadFile(PathOf(name));
}
