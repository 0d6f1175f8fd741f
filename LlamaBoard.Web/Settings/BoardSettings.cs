namespace LlamaBoard.Web.Settings;

/// <summary>
/// The board's own settings, bound from the <c>LlamaBoard</c> configuration section (appsettings.json,
/// <c>--LlamaBoard:Workspace=…</c>) and from the environment variables <see cref="WorkspaceVariable"/> and
/// <see cref="TokenVariable"/>.
/// </summary>
public sealed class BoardSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "LlamaBoard";

    /// <summary>Environment variable that sets <see cref="Workspace"/>.</summary>
    public const string WorkspaceVariable = "LLAMABOARD_WORKSPACE";

    /// <summary>Environment variable that sets <see cref="AccessToken"/>.</summary>
    public const string TokenVariable = "LLAMABOARD_TOKEN";

    /// <summary>
    /// Folder for the run history database, run output folders and saved arguments; relative paths are resolved
    /// against the current directory. Default: <c>workspace</c>.
    /// </summary>
    public string Workspace { get; set; } = "workspace";

    /// <summary>
    /// Secret that every request must present (login page, <c>?token=</c> once, or a bearer header) when set.
    /// Required when the board listens beyond loopback. Default: none.
    /// </summary>
    public string? AccessToken { get; set; }

    /// <summary>
    /// The folders the board may list, read and write: every path typed into it (model, adapters, dataset_dir,
    /// output_dir, export_dir, the evaluation folder) must lie inside one of them, links resolved. Relative entries
    /// count from the current directory. The environment variable <c>LLAMABOARD_ROOTS</c> (folders separated by ':'
    /// on Linux and macOS, ';' on Windows) replaces this list. Default (empty): <c>models</c>, <c>data</c> and the
    /// workspace (which holds saves/, configs/ and models/).
    /// </summary>
    public IList<string> Roots { get; } = [];

    /// <summary>Seconds between footer readings of device memory. Default: 3.</summary>
    public double FooterRefreshSeconds { get; set; } = 3;

    /// <summary>Finished jobs kept in memory for live views (older ones are read from the history). Default: 8.</summary>
    public int FinishedJobsKept { get; set; } = 8;
}
