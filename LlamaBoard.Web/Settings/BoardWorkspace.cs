namespace LlamaBoard.Web.Settings;

/// <summary>
/// The workspace folder and the places inside it: the history database, run outputs and saved arguments.
/// Created on first use, so a fresh machine needs no setup.
/// </summary>
public sealed class BoardWorkspace
{
    /// <summary>Resolves <paramref name="folder"/> (relative to the current directory) and creates its sub-folders.</summary>
    public BoardWorkspace(string folder)
    {
        Root = Path.GetFullPath(string.IsNullOrWhiteSpace(folder) ? "workspace" : folder);
        try
        {
            Directory.CreateDirectory(Root);
            Directory.CreateDirectory(SavesDir);
            Directory.CreateDirectory(ConfigsDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"The board cannot create its workspace folder '{Root}': {e.Message} " +
                $"Set {BoardSettings.Section}:Workspace or {BoardSettings.WorkspaceVariable} to a writable folder.", e);
        }
    }

    /// <summary>The absolute workspace folder.</summary>
    public string Root { get; }

    /// <summary>The SQLite file of the run history.</summary>
    public string DatabasePath => Path.Combine(Root, "llamaboard.db");

    /// <summary>Where runs write their outputs by default: <c>saves/&lt;model&gt;/&lt;method&gt;/&lt;run&gt;</c>, as LlamaBoard does.</summary>
    public string SavesDir => Path.Combine(Root, "saves");

    /// <summary>Where Save arguments / Load arguments keep their YAML files.</summary>
    public string ConfigsDir => Path.Combine(Root, "configs");
}
