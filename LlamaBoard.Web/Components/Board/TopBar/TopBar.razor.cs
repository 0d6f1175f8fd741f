using LlamaBoard.Engine.Hub;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The board's top bar, shared by all tabs: model name and folder (checked when it changes), fine-tuning method,
/// adapters of earlier runs of this model, quantization, chat template, RoPE scaling and compute device. Edits the
/// circuit's <see cref="BoardState"/>.
/// </summary>
public partial class TopBar : IDisposable
{
    static readonly IReadOnlyList<string> QuantizationBits = ["8", "4"];

    IReadOnlyList<ModelChoice> models = [];
    IReadOnlyList<AdapterChoice> adapters = [];
    IReadOnlyList<string> devices = [];
    ModelFolderResult? folder;

    [Inject] BoardState State { get; set; } = default!;
    [Inject] IModelCatalog Models { get; set; } = default!;
    [Inject] ModelDownloads Downloads { get; set; } = default!;
    [Inject] AdapterCatalog Adapters { get; set; } = default!;
    [Inject] BoardRoots Roots { get; set; } = default!;
    [Inject] DeviceMonitor Devices { get; set; } = default!;
    [Inject] JobNotifier Notifier { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>The cascaded validation messages (for the adapter list). Default: null.</summary>
    [CascadingParameter]
    public ValidationReport? Report { get; set; }

    static readonly string[] NoAdapters = [];

    // The same instance on every render: MudSelect treats a new collection as a new selection.
    IReadOnlyCollection<string> SelectedAdapters => State.Options.Model.AdapterNameOrPath ?? NoAdapters;

    string? AdapterError => Report?.For("adapter_name_or_path").Where(m => m.Severity == MessageSeverity.Error).Select(m => m.Text).FirstOrDefault();

    /// <inheritdoc/>
    protected override async Task OnInitializedAsync()
    {
        models = Models.List();
        devices = Devices.ComputeDevices();
        State.Changed += OnStateChanged;
        CheckFolder();
        await LoadAdaptersAsync();
    }

    // The path may also change outside the top bar (Load arguments, Start's download): check the new one.
    void OnStateChanged() => _ = InvokeAsync(() =>
    {
        if (State.Options.Model.ModelNameOrPath != checkedPath) CheckFolder();
        StateHasChanged();
    });

    string? checkedPath;

    IDisposable? jobs;

    /// <inheritdoc/>
    protected override void OnAfterRender(bool firstRender)
    {
        // A run that ends may have written an adapter for this model: list it without a reload.
        if (firstRender)
            jobs = Notifier.Subscribe(change => change.Event is null && !change.Status.IsActive()
                ? InvokeAsync(async () => { await LoadAdaptersAsync(); StateHasChanged(); })
                : Task.CompletedTask);
    }

    async Task OnModelNameChanged(string? name)
    {
        State.ModelName = name;
        if (models.FirstOrDefault(m => m.Name == name) is { } model)
        {
            State.Options.Model.ModelNameOrPath = model.Path;
            if (model.Template is not null) State.Options.Data.Template = model.Template;
        }
        await OnModelPathChanged();
    }

    async Task OnModelPathChanged()
    {
        // A hub model already in the cache (downloaded earlier, by Python tools too) is used from there at once.
        if (ModelDownloads.IsHubId(State.Options.Model.ModelNameOrPath) &&
            await Downloads.CachedFolderAsync(State.Options.Model.ModelNameOrPath!) is { } cached)
            State.Options.Model.ModelNameOrPath = cached;
        if (State.ModelName is { } name && models.FirstOrDefault(m => m.Name == name) is var choice
            && choice?.Path != State.Options.Model.ModelNameOrPath && !IsSnapshotOf(choice, State.Options.Model.ModelNameOrPath))
            State.ModelName = null;
        CheckFolder();
        // Adapters belong to one model: keep only those of the new one.
        await LoadAdaptersAsync();
        if (State.Options.Model.AdapterNameOrPath is { } chosen)
        {
            var kept = chosen.Where(a => adapters.Any(c => c.Path == a)).ToList();
            State.Options.Model.AdapterNameOrPath = kept.Count == 0 ? null : kept;
        }
        State.NotifyChanged();
    }

    // The download of the chosen hub model finished: use its snapshot folder (the model name stays chosen).
    async Task OnDownloaded(string snapshotFolder)
    {
        if (!ModelDownloads.IsHubId(State.Options.Model.ModelNameOrPath)) return;
        State.Options.Model.ModelNameOrPath = snapshotFolder;
        await OnModelPathChanged();
    }

    // Whether the path is a cache snapshot of the catalogue choice's hub id (…/models--org--name/snapshots/<commit>).
    static bool IsSnapshotOf(ModelChoice? choice, string? path) =>
        choice is not null && path is not null && ModelDownloads.IsHubId(choice.Path) && !ModelDownloads.IsHubId(path) &&
        path.Replace('\\', '/').Contains("/" + new HubRepoId(choice.Path).CacheFolderName + "/snapshots/", StringComparison.OrdinalIgnoreCase);

    Task OnMethodChanged()
    {
        if (State.Options.Finetuning.FinetuningType != FinetuningType.Lora) State.Options.Model.AdapterNameOrPath = null;
        State.NotifyChanged();
        return Task.CompletedTask;
    }

    void OnAdaptersChanged(IEnumerable<string?>? values)
    {
        var list = values?.OfType<string>().ToList();
        if (list is not null && list.SequenceEqual(SelectedAdapters)) return;
        State.Options.Model.AdapterNameOrPath = list is { Count: > 0 } ? list : null;
        State.NotifyChanged();
    }

    void CheckFolder()
    {
        checkedPath = State.Options.Model.ModelNameOrPath;
        folder = string.IsNullOrWhiteSpace(checkedPath) ? null : ModelFolderCheck.Check(checkedPath, Roots);
    }

    async Task LoadAdaptersAsync() => adapters = await Adapters.ListAsync(State.Options.Model.ModelNameOrPath);

    /// <inheritdoc/>
    public void Dispose()
    {
        State.Changed -= OnStateChanged;
        jobs?.Dispose();
    }
}
