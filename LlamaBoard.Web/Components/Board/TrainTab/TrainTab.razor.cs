using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;
using MudBlazor;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The Train tab, grouped as LlamaBoard groups it: stage and datasets; the main hyper-parameters; accordions for extra,
/// freeze, LoRA, RLHF, GaLore and BAdam settings; output folder and config name; Preview command, Save/Load arguments,
/// Start and Abort; then the job list and the live monitor. Every control binds to the circuit's
/// <see cref="BoardState"/>; messages from the engine's validation appear next to their fields.
/// </summary>
public partial class TrainTab : IDisposable
{
    static readonly IReadOnlyList<string> BoolChoices = ["true", "false"];

    /// <summary>Keys with a control on the top bar or this tab; errors about other keys are listed above the monitor.</summary>
    static readonly HashSet<string> ShownKeys =
    [
        "model_name_or_path", "adapter_name_or_path", "finetuning_type", "quantization_bit", "template", "rope_scaling", "device",
        "stage", "dataset_dir", "dataset", "learning_rate", "num_train_epochs", "max_grad_norm", "max_samples", "bf16", "fp16", "pure_bf16",
        "cutoff_len", "per_device_train_batch_size", "gradient_accumulation_steps", "val_size", "lr_scheduler_type",
        "logging_steps", "save_steps", "warmup_steps", "neftune_noise_alpha", "packing", "neat_packing", "train_on_prompt", "mask_history",
        "resize_vocab", BoardState.ExtraArgsKey, "freeze_trainable_layers", "freeze_trainable_modules", "freeze_extra_modules",
        "lora_rank", "lora_alpha", "lora_dropout", "loraplus_lr_ratio", "create_new_adapter", "use_rslora", "use_dora", "pissa_init",
        "lora_target", "additional_target", "pref_beta", "pref_ftx", "pref_loss", "reward_model", "use_galore", "galore_rank",
        "galore_update_interval", "galore_scale", "galore_target", "use_badam", "badam_mode", "badam_switch_mode",
        "badam_switch_interval", "badam_update_ratio", "output_dir",
    ];

    IReadOnlyList<string> savedFiles = [];
    string? fileToLoad;
    string? notice;
    Severity noticeSeverity = Severity.Info;
    RunStatus? watchedStatus;

    [Inject] BoardState State { get; set; } = default!;
    [Inject] JobQueue Jobs { get; set; } = default!;
    [Inject] ModelDownloads Downloads { get; set; } = default!;
    [Inject] ArgumentFiles Files { get; set; } = default!;
    [Inject] IDialogService Dialogs { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>The messages of the last validation, cascaded by the board page. Default: null.</summary>
    [CascadingParameter] public ValidationReport? Report { get; set; }

    bool CanStart => Jobs.UnavailableReason is null && Report is { IsValid: true } && !downloadingBeforeStart;

    // Start is waiting for the hub model's download (its progress shows in the top bar).
    bool downloadingBeforeStart;

    bool CanAbort => watchedStatus is RunStatus.Queued or RunStatus.Running;

    bool WatchedCanResume => watchedStatus is { } status && status.CanResume();

    string? ExtraArgsError => Report?.For(BoardState.ExtraArgsKey).Select(m => m.Text).FirstOrDefault();

    /// <inheritdoc/>
    protected override void OnInitialized()
    {
        State.Changed += OnStateChanged;
        savedFiles = Files.List();
        // A reloaded page (a new circuit) follows the job that is running or waiting, with its whole history.
        if (State.WatchedRunId is null)
        {
            var jobs = Jobs.Jobs;
            if ((jobs.FirstOrDefault(j => j.Status.IsActive()) ?? jobs.FirstOrDefault()) is { } job)
                State.WatchedRunId = job.RunId;
        }
    }

    void OnStateChanged() => _ = InvokeAsync(StateHasChanged);

    void OnWatchedStatusChanged(RunStatus status) => watchedStatus = status;

    void Watch(int runId)
    {
        watchedStatus = null;
        State.Watch(runId);
    }

    void Notify(string text, Severity severity)
    {
        notice = text;
        noticeSeverity = severity;
    }

    void RefreshSavedFiles() => savedFiles = Files.List();

    async Task PreviewAsync()
    {
        var (options, _) = State.Build();
        var parameters = new DialogParameters<CommandPreviewDialog>
        {
            { d => d.Yaml, OptionsWriter.ToYaml(options) },
            { d => d.CommandLine, OptionsWriter.ToCommandLine("train", options) },
        };
        await Dialogs.ShowAsync<CommandPreviewDialog>(L["PreviewCommand"], parameters,
            new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseButton = true });
    }

    void Save()
    {
        try
        {
            string path = Files.Save(State.Build().Options, State.ConfigName);
            savedFiles = Files.List();
            Notify(L["Saved", path], Severity.Success);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            Notify(e.Message, Severity.Error);
        }
    }

    void Load()
    {
        if (fileToLoad is null) return;
        try
        {
            var loaded = Files.Load(fileToLoad);
            if (loaded.FileUnreadable)
            {
                Notify(string.Join(" ", loaded.Result.Errors.Select(m => m.ToString())), Severity.Error);
                return;
            }
            State.ConfigName = fileToLoad;
            State.Replace(loaded.Options, keepOutputDir: true);
            var problems = loaded.Result.Messages.Select(m => m.ToString()).ToList();
            Notify(problems.Count == 0 ? L["Loaded", fileToLoad] : $"{L["Loaded", fileToLoad]} {string.Join(" ", problems)}",
                   loaded.Result.IsValid ? (problems.Count == 0 ? Severity.Success : Severity.Warning) : Severity.Error);
        }
        catch (ArgumentException e)
        {
            Notify(e.Message, Severity.Error);
        }
    }

    async Task StartAsync()
    {
        var report = State.Validate();
        if (!report.IsValid)
        {
            Notify(L["FixErrors"], Severity.Error);
            return;
        }
        if (!await EnsureModelDownloadedAsync()) return;
        try
        {
            var job = await Jobs.EnqueueAsync(State.Build().Options);
            watchedStatus = RunStatus.Queued;
            State.NewRun();
            State.Watch(job.RunId);
            notice = null;
        }
        catch (InvalidOperationException e)
        {
            Notify(e.Message, Severity.Error);
        }
    }

    /// <summary>
    /// A hub model not on this machine yet downloads first, as LLaMA-Factory does on first use; the form then names
    /// its snapshot folder. False (with the reason shown) when the download failed or was cancelled.
    /// </summary>
    async Task<bool> EnsureModelDownloadedAsync()
    {
        string? path = State.Options.Model.ModelNameOrPath;
        if (!ModelDownloads.IsHubId(path)) return true;
        downloadingBeforeStart = true;
        Notify(L["DownloadingBeforeStart", path!], Severity.Info);
        try
        {
            var download = Downloads.Start(path!);
            if (await download.Completion is not { } folder)
            {
                Notify(download.Status == ModelDownloadStatus.Failed ? L["DownloadFailed", download.Error ?? ""] : L["DownloadCancelled"],
                       download.Status == ModelDownloadStatus.Failed ? Severity.Error : Severity.Warning);
                return false;
            }
            // The user may have chosen another model meanwhile: train what the form names now.
            if (State.Options.Model.ModelNameOrPath == path)
            {
                State.Options.Model.ModelNameOrPath = folder;
                State.NotifyChanged();
            }
            notice = null;
            return !ModelDownloads.IsHubId(State.Options.Model.ModelNameOrPath) && State.Validate().IsValid;
        }
        finally
        {
            downloadingBeforeStart = false;
        }
    }

    async Task AbortAsync()
    {
        if (State.WatchedRunId is { } runId && await Jobs.AbortAsync(runId))
            Notify(L["Aborting"], Severity.Info);
    }

    async Task ResumeAsync()
    {
        if (State.WatchedRunId is not { } runId) return;
        try
        {
            await Jobs.ResumeAsync(runId);
            watchedStatus = RunStatus.Queued;
            State.Watch(runId);
        }
        catch (InvalidOperationException e)
        {
            Notify(e.Message, Severity.Error);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => State.Changed -= OnStateChanged;
}
