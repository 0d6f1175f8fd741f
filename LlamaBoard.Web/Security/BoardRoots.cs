using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Hub;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Web.Settings;

namespace LlamaBoard.Web.Security;

/// <summary>
/// The folders the board may list, read and write (<see cref="BoardSettings.Roots"/>): every path typed into the
/// board (model, adapters, dataset_dir, output_dir, export_dir, the evaluation folder, …) must lie inside one of them,
/// after <c>..</c>, <c>~</c> and symbolic links are resolved (<see cref="PathConfinement"/>). A hub id such as
/// <c>Qwen/Qwen2.5-0.5B</c> is not a path: it is downloaded into the hub cache, whose listings the engine confines.
/// </summary>
public sealed class BoardRoots
{
    /// <summary>Environment variable that replaces the configured roots: folders separated by <see cref="Path.PathSeparator"/>.</summary>
    public const string RootsVariable = "LLAMABOARD_ROOTS";

    /// <summary>The option keys whose values are folders or files on this machine, as LLaMA-Factory names them.</summary>
    public static IReadOnlyList<string> PathKeys { get; } =
    [
        "model_name_or_path", "adapter_name_or_path", "dataset_dir", "output_dir", "export_dir", "tokenized_path",
        "resume_from_checkpoint", "ref_model", "ref_model_adapters", "reward_model", "reward_model_adapters",
    ];

    readonly PathConfinement confinement;

    /// <summary>Confines the board to <paramref name="roots"/> (relative ones against the current directory).</summary>
    /// <exception cref="ArgumentException">No root was given.</exception>
    public BoardRoots(IEnumerable<string> roots) => confinement = new PathConfinement(roots);

    /// <summary>
    /// The roots for <paramref name="settings"/>: <see cref="RootsVariable"/> when set (it replaces the list rather
    /// than merging with it entry by entry), else <see cref="BoardSettings.Roots"/>, else <see cref="Defaults"/>.
    /// </summary>
    public static BoardRoots From(BoardSettings settings, BoardWorkspace workspace, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(workspace);
        environment ??= Environment.GetEnvironmentVariable;
        if (environment(RootsVariable) is { Length: > 0 } fromEnvironment &&
            fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } listed)
            return new BoardRoots(listed);
        var configured = settings.Roots.Where(r => !string.IsNullOrWhiteSpace(r)).ToList();
        return new BoardRoots(configured.Count > 0 ? configured : Defaults(workspace));
    }

    /// <summary>
    /// The folders the board uses out of the box: <c>models/</c> and <c>data/</c> of the current directory (the model
    /// list and dataset_dir's default) and the workspace (its <c>saves/</c> run outputs, <c>configs/</c>, <c>models/</c>).
    /// </summary>
    public static IReadOnlyList<string> Defaults(BoardWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        return [Path.GetFullPath("models"), Path.GetFullPath("data"), workspace.Root];
    }

    /// <summary>
    /// These roots plus <paramref name="more"/>: the board adds the hub caches, because a catalogue model it downloads
    /// lands there and its snapshot folder becomes model_name_or_path.
    /// </summary>
    public BoardRoots With(IEnumerable<string> more) => new(Roots.Concat(more.Where(r => !string.IsNullOrWhiteSpace(r))));

    /// <summary>These roots plus the Hugging Face and ModelScope caches of <paramref name="hub"/> (see <see cref="With"/>).</summary>
    public BoardRoots WithHubCaches(HubOptions hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        return With([hub.CacheDir, hub.ModelScopeCacheDir]);
    }

    /// <summary>The allowed folders, canonical.</summary>
    public IReadOnlyList<string> Roots => confinement.Roots;

    /// <summary>True when the folder or file at <paramref name="path"/> lies inside a root (<c>~</c> expanded).</summary>
    public bool Allows(string path) => !string.IsNullOrWhiteSpace(path) && confinement.Contains(ExpandUser(path.Trim()));

    /// <summary>
    /// Null when <paramref name="path"/> is empty or inside a root; else why it is refused, naming the path and the
    /// allowed folders, for <paramref name="what"/> (an option key or a field's label).
    /// </summary>
    public string? Refusal(string? path, string what)
    {
        if (string.IsNullOrWhiteSpace(path) || Allows(path)) return null;
        return $"{what} {Outside(path)}";
    }

    string Outside(string path) =>
        $"'{path.Trim()}' is outside the folders this board may use ({string.Join(", ", Roots)}). " +
        $"Choose a folder inside them, or ask whoever runs the board to add one to LlamaBoard:Roots (or {RootsVariable}).";

    /// <summary>
    /// Like <see cref="Refusal"/> for a model or adapter value, which may also be a hub id (downloaded into the hub
    /// cache, not a typed path). A value that names an existing local folder or file, or is written as a path, is a
    /// path; so is the demo model's <c>models/demo</c>, which the trainer creates there on first use.
    /// </summary>
    public string? ModelRefusal(string? value, string what)
    {
        if (string.IsNullOrWhiteSpace(value) || (IsHubId(value) && !DemoModel.IsDemoPath(value.Trim()))) return null;
        return Refusal(value, what);
    }

    /// <summary>True when <paramref name="value"/> will be fetched from a hub rather than read as a local path (as the engine decides).</summary>
    public static bool IsHubId(string value)
    {
        string text = value.Trim();
        string local = ExpandUser(text);
        return !Directory.Exists(local) && !File.Exists(local) && !HubModelResolver.LooksLikePath(text) && HubRepoId.IsValid(text);
    }

    /// <summary>Every path of <paramref name="options"/> that lies outside the roots, as errors under its option key.</summary>
    public IReadOnlyList<ConfigMessage> Check(LlamaBoardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var messages = new List<ConfigMessage>();
        // ConfigMessage puts the key in front of the text itself.
        void Model(string key, string? value)
        {
            if (ModelRefusal(value, key) is not null) messages.Add(ConfigMessage.Error(key, Outside(value!)));
        }
        void Folder(string key, string? value)
        {
            if (Refusal(value, key) is not null) messages.Add(ConfigMessage.Error(key, Outside(value!)));
        }
        Model("model_name_or_path", options.Model.ModelNameOrPath);
        foreach (string adapter in options.Model.AdapterNameOrPath ?? []) Model("adapter_name_or_path", adapter);
        Folder("dataset_dir", options.Data.DatasetDir);
        Folder("tokenized_path", options.Data.TokenizedPath);
        Folder("output_dir", options.Training.OutputDir);
        Folder("resume_from_checkpoint", options.Training.ResumeFromCheckpoint);
        Folder("export_dir", options.Export.ExportDir);
        var preference = options.Finetuning.Preference;
        Model("ref_model", preference.RefModel);
        foreach (string adapter in preference.RefModelAdapters ?? []) Model("ref_model_adapters", adapter);
        // reward_model_type api makes reward_model an address, not a path.
        if (preference.RewardModelType != RewardModelType.Api) Model("reward_model", preference.RewardModel);
        foreach (string adapter in preference.RewardModelAdapters ?? []) Model("reward_model_adapters", adapter);
        return messages;
    }

    /// <summary>
    /// Throws when a path of <paramref name="options"/> under one of <paramref name="keys"/> (or one of
    /// <paramref name="extraPaths"/>, by label) lies outside the roots: the guard the Export, Evaluate and Chat sessions
    /// run before touching the disk, whatever the form showed.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">A path is outside; the message names each one and the allowed folders.</exception>
    public void EnsureAllowed(LlamaBoardOptions options, IReadOnlyCollection<string> keys, params (string What, string? Path)[] extraPaths)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(extraPaths);
        var problems = Check(options).Where(m => keys.Contains(m.Key)).Select(m => m.Text).ToList();
        problems.AddRange(extraPaths.Select(p => Refusal(p.Path, p.What)).OfType<string>());
        if (problems.Count > 0) throw new UnauthorizedAccessException(string.Join(" ", problems));
    }

    // As the engine's hub resolver does, so that "~/x" is judged where it will be read.
    static string ExpandUser(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "")
            : path;
}
