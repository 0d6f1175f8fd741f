using System.Globalization;
using System.Text.Json;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Settings;

namespace LlamaBoard.Web.Services;

/// <summary>
/// The board's form for one browser tab (a scoped service: one per Blazor circuit): a single
/// <see cref="LlamaBoardOptions"/> that the top bar and every tab bind to, the extra-arguments JSON, the config
/// name, and which run the monitor follows. Components that show it subscribe to <see cref="Changed"/>.
/// </summary>
public sealed class BoardState
{
    readonly BoardWorkspace workspace;
    readonly BoardRoots roots;
    bool outputDirIsDefault = true;

    /// <summary>A fresh form with LlamaBoard's web defaults.</summary>
    public BoardState(BoardWorkspace workspace, IModelCatalog models, BoardRoots roots)
    {
        this.workspace = workspace;
        this.roots = roots;
        Options = WebDefaults();
        if (models.List().FirstOrDefault(m => Directory.Exists(m.Path) || DemoModel.IsDemoPath(m.Path)) is { } model)
        {
            Options.Model.ModelNameOrPath = model.Path;
            Options.Data.Template = model.Template;
            ModelName = model.Name;
        }
        ConfigName = Stamp() + ".yaml";
        RefreshDefaultOutputDir();
        EvalOutputDir = Path.Combine(workspace.SavesDir, "eval_" + Stamp());
    }

    /// <summary>The options every control binds to.</summary>
    public LlamaBoardOptions Options { get; private set; }

    /// <summary>The model name chosen in the top bar (the catalogue entry), or null for a typed path.</summary>
    public string? ModelName { get; set; }

    /// <summary>Extra arguments as a JSON object of LLaMA-Factory keys, applied on top of the form at Preview and Start.</summary>
    public string ExtraArgs { get; set; } = "{}";

    /// <summary>The file name Save arguments writes to (in the workspace's configs folder).</summary>
    public string ConfigName { get; set; }

    /// <summary>The Evaluate &amp; Predict tab's output folder (evaluation results and predictions).</summary>
    public string EvalOutputDir { get; set; } = "";

    /// <summary>The Chat tab's adapters, one pane each next to the base model (at most <see cref="MaxChatAdapters"/>).</summary>
    public IReadOnlyList<string> ChatAdapters { get; set; } = [];

    /// <summary>Most adapters the Chat tab compares side by side with the base model.</summary>
    public const int MaxChatAdapters = 4;

    /// <summary>The Chat tab's tool definitions as a JSON array (OpenAI function format).</summary>
    public string ChatTools { get; set; } = "";

    /// <summary>The Chat tab's sampling seed: every pane answers with the same one.</summary>
    public int ChatSeed { get; set; } = 42;

    /// <summary>The run the Train tab's monitor follows; null before the first Start.</summary>
    public int? WatchedRunId { get; set; }

    /// <summary>Raised after any change made through <see cref="NotifyChanged"/>, <see cref="Replace"/> or a watched run.</summary>
    public event Action? Changed;

    /// <summary>LlamaBoard's web form defaults: training on, logging every 5 steps, saving every 100, LoRA SFT.</summary>
    public static LlamaBoardOptions WebDefaults()
    {
        var options = new LlamaBoardOptions();
        options.Training.DoTrain = true;
        options.Training.LearningRate = 5e-5;
        options.Training.NumTrainEpochs = 3.0;
        options.Training.PerDeviceTrainBatchSize = 2;
        options.Training.GradientAccumulationSteps = 8;
        options.Training.LrSchedulerType = SchedulerType.Cosine;
        options.Training.LoggingSteps = 5;
        options.Training.SaveSteps = 100;
        options.Training.Bf16 = true;
        options.Data.MaxSamples = 100000;
        options.Data.CutoffLen = 2048;
        options.Finetuning.PlotLoss = true;
        options.Finetuning.Lora.Alpha = 16;
        return options;
    }

    /// <summary>Call after a control changed the options: refreshes the default output folder and tells the listeners.</summary>
    public void NotifyChanged()
    {
        RefreshDefaultOutputDir();
        Changed?.Invoke();
    }

    /// <summary>The user typed an output folder: stop proposing one.</summary>
    public void OutputDirEdited()
    {
        outputDirIsDefault = string.IsNullOrWhiteSpace(Options.Training.OutputDir);
        NotifyChanged();
    }

    /// <summary>Replaces the whole form (Load arguments, Clone): a new output folder is proposed unless <paramref name="keepOutputDir"/>.</summary>
    public void Replace(LlamaBoardOptions options, bool keepOutputDir = false)
    {
        Options = options;
        Options.Training.DoTrain = true;
        outputDirIsDefault = !keepOutputDir || string.IsNullOrWhiteSpace(options.Training.OutputDir);
        if (outputDirIsDefault) Options.Training.OutputDir = null;
        NotifyChanged();
    }

    /// <summary>After a Start: propose a fresh default output folder for the next run (unless the user chose one).</summary>
    public void NewRun()
    {
        if (!outputDirIsDefault) return;
        lastStartedOutputDir = Options.Training.OutputDir;
        Options.Training.OutputDir = null;
        NotifyChanged();
    }

    /// <summary>Follows a run in the monitor.</summary>
    public void Watch(int runId)
    {
        WatchedRunId = runId;
        Changed?.Invoke();
    }

    /// <summary>The options a run would get: a copy of the form with the extra arguments applied, and the messages of applying them.</summary>
    public (LlamaBoardOptions Options, ValidationReport ExtraArgsReport) Build()
    {
        var copy = Options.Clone();
        var report = ApplyExtraArgs(copy, ExtraArgs);
        return (copy, report);
    }

    /// <summary>
    /// Everything wrong with the form for training: the engine's validation of <see cref="Build"/>'s options, the
    /// extra-arguments messages (under key extra_args), every path outside the board's allowed folders (under its
    /// key, <see cref="BoardRoots"/>), and the model folder check (under model_name_or_path; a hub model
    /// not downloaded yet is only a warning for training, since Start downloads it first).
    /// </summary>
    public ValidationReport Validate(OptionsPurpose purpose = OptionsPurpose.Train)
    {
        var (options, extra) = Build();
        var report = new ValidationReport(extra.Messages);
        report.AddRange(OptionsValidator.Validate(options, purpose).Messages);
        var outside = roots.Check(options);
        report.AddRange(outside);
        if (options.Model.ModelNameOrPath is { Length: > 0 } path && outside.All(m => m.Key != "model_name_or_path") &&
            ModelFolderCheck.Check(path, roots) is { IsValid: false } folder)
        {
            // A hub model downloads when training starts (as LLaMA-Factory does on first use); other uses need it first.
            report.Add(folder.HubId is not null && purpose == OptionsPurpose.Train
                ? ConfigMessage.Warning("model_name_or_path", folder.Message)
                : ConfigMessage.Error("model_name_or_path", folder.Message));
        }
        return report;
    }

    /// <summary>The key under which extra-argument problems are reported.</summary>
    public const string ExtraArgsKey = "extra_args";

    /// <summary>
    /// Applies a JSON object of keys to <paramref name="options"/> through the loader's key=value path, so unknown
    /// keys get the same "did you mean" messages as on the command line.
    /// </summary>
    public static ValidationReport ApplyExtraArgs(LlamaBoardOptions options, string? json)
    {
        var report = new ValidationReport();
        if (string.IsNullOrWhiteSpace(json)) return report;
        var overrides = new List<string>();
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                report.Add(ConfigMessage.Error(ExtraArgsKey, "must be a JSON object such as {\"neftune_noise_alpha\": 5}"));
                return report;
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                string value = property.Value.ValueKind switch
                {
                    JsonValueKind.String => "\"" + property.Value.GetString() + "\"",
                    JsonValueKind.Null => "null",
                    _ => property.Value.GetRawText(),
                };
                overrides.Add($"{property.Name}={value}");
            }
        }
        catch (JsonException e)
        {
            report.Add(ConfigMessage.Error(ExtraArgsKey, $"not valid JSON: {e.Message}"));
            return report;
        }
        foreach (var message in OptionsLoader.ApplyOverrides(options, overrides).Messages)
            report.Add(message with { Key = ExtraArgsKey, Text = $"{ExtraArgsKey}: {message.Text}", Source = null });
        return report;
    }

    void RefreshDefaultOutputDir()
    {
        if (!outputDirIsDefault) return;
        string model = ModelName ?? (Options.Model.ModelNameOrPath is { Length: > 0 } path
            ? Path.GetFileName(Path.TrimEndingDirectorySeparator(path)) : "model");
        string method = OptionRegistry.Get("finetuning_type").ShowValue(Options);
        string run = Options.Training.OutputDir is { Length: > 0 } current && Path.GetFileName(current).StartsWith("train_", StringComparison.Ordinal)
            ? Path.GetFileName(current)
            : "train_" + Stamp();
        string folder = Path.Combine(workspace.SavesDir, Sanitize(model), method, run);
        // Names have one-second resolution: a run started within the same second as the last one (or a folder that
        // exists) gets a counter, so the next run never lands in the previous run's folder.
        for (int n = 2; string.Equals(folder, lastStartedOutputDir, StringComparison.Ordinal) || Directory.Exists(folder); n++)
            folder = Path.Combine(workspace.SavesDir, Sanitize(model), method, $"{run}-{n}");
        Options.Training.OutputDir = folder;
    }

    string? lastStartedOutputDir;

    static string Sanitize(string name) => string.Concat(name.Select(c => Path.GetInvalidFileNameChars().Contains(c) || c == '/' ? '_' : c));

    static string Stamp() => DateTime.Now.ToString("yyyy-MM-dd-HH-mm-ss", CultureInfo.InvariantCulture);
}
