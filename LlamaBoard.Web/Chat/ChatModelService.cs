using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Web.Security;
using LlamaBoard.Web.Services;

namespace LlamaBoard.Web.Chat;

/// <summary>One pane of the Chat tab: the base model or one adapter, by the name the engine serves it under.</summary>
/// <param name="Name">The engine's model name (the base's name, or the adapter's).</param>
/// <param name="Label">What the pane's header shows.</param>
/// <param name="AdapterFolder">The adapter's folder; null for the base model.</param>
public sealed record ChatTarget(string Name, string Label, string? AdapterFolder);

/// <summary>The model the Chat tab has loaded.</summary>
/// <param name="Engine">The chat engine over the shared base and its adapters.</param>
/// <param name="ModelPath">model_name_or_path it was loaded from.</param>
/// <param name="Targets">The base, then each adapter: one pane each.</param>
/// <param name="LoadTime">How long loading took (base and adapters).</param>
public sealed record LoadedChatModel(ChatEngine Engine, string ModelPath, IReadOnlyList<ChatTarget> Targets, TimeSpan LoadTime)
{
    /// <summary>Memory taken by the base weights and every adapter, in bytes.</summary>
    public long Bytes => Engine.Host.BaseBytes + Engine.Host.Adapters.Sum(a => a.Bytes);
}

/// <summary>
/// Holds the model the Chat tab loaded: one base in memory with the chosen adapters beside it
/// (<see cref="ModelHost"/>), shared by every browser tab, as LLaMA-Factory's board keeps one chat model per
/// process. Loading runs on a thread of its own (libtorch work is synchronous); unloading waits for a generation in
/// progress to give the model back. The model and adapter folders must lie inside the board's allowed folders
/// (<see cref="BoardRoots"/>).
/// </summary>
public sealed class ChatModelService(BoardRoots roots) : IDisposable
{
    readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>The loaded model; null when none is.</summary>
    public LoadedChatModel? Current { get; private set; }

    /// <summary>True while a load is under way.</summary>
    public bool IsLoading { get; private set; }

    /// <summary>Raised after a load starts or ends and after an unload (on the thread that made the change).</summary>
    public event Action? Changed;

    /// <summary>
    /// Loads model_name_or_path from <paramref name="options"/> (infer_dtype, device, template, decoding defaults)
    /// with <paramref name="adapters"/> served beside the base, replacing whatever was loaded. The top bar's
    /// adapter_name_or_path is not merged in: the base pane answers with the plain base model.
    /// </summary>
    /// <exception cref="ArgumentException">A setting or adapter is wrong (the message says which).</exception>
    /// <exception cref="InvalidDataException">An adapter does not fit the model.</exception>
    /// <exception cref="UnauthorizedAccessException">The model or an adapter lies outside the allowed folders; the loaded model stays.</exception>
    public async Task<LoadedChatModel> LoadAsync(LlamaBoardOptions options, IReadOnlyList<AdapterChoice> adapters,
                                                 Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(adapters);
        roots.EnsureAllowed(options, ["model_name_or_path"], [.. adapters.Select(a => ($"The adapter {a.Label}", (string?)a.Path))]);
        await gate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            await UnloadCoreAsync().ConfigureAwait(false);
            IsLoading = true;
            Changed?.Invoke();
            var copy = options.Clone();
            copy.Model.AdapterNameOrPath = null;
            var specs = UniqueNames(adapters, ChatEngineLoader.BaseName(copy.Model.ModelNameOrPath ?? ""));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var engine = await Task.Factory.StartNew(() => ChatEngineLoader.Load(copy, specs.Select(s => s.Spec).ToList(), log, cancellation),
                                                     cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            var targets = new List<ChatTarget> { new(engine.Host.Name, engine.Host.Name, null) };
            targets.AddRange(specs.Select(s => new ChatTarget(s.Spec.Name, s.Label, s.Spec.Folder)));
            Current = new LoadedChatModel(engine, options.Model.ModelNameOrPath ?? "", targets, clock.Elapsed);
            return Current;
        }
        finally
        {
            IsLoading = false;
            gate.Release();
            Changed?.Invoke();
        }
    }

    /// <summary>Frees the loaded model (after the generation in progress, if any, has finished or been stopped).</summary>
    public async Task UnloadAsync()
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await UnloadCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
        Changed?.Invoke();
    }

    async Task UnloadCoreAsync()
    {
        if (Current is not { } loaded) return;
        Current = null;
        // A generation holds the host's gate; wait for it so its tensors are not freed under it.
        await loaded.Engine.Host.Gate.WaitAsync().ConfigureAwait(false);
        loaded.Engine.Dispose();
    }

    /// <summary>Engine names for the adapters: their labels, made unique and unlike the base's (the engine refuses a name twice).</summary>
    static List<(AdapterSpec Spec, string Label)> UniqueNames(IReadOnlyList<AdapterChoice> adapters, string baseName)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal) { baseName };
        var specs = new List<(AdapterSpec, string)>();
        foreach (var adapter in adapters)
        {
            string name = adapter.Label;
            for (int i = 2; !taken.Add(name); i++) name = $"{adapter.Label} ({i})";
            specs.Add((new AdapterSpec(name, adapter.Path), adapter.Label));
        }
        return specs;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Current?.Engine.Dispose();
        Current = null;
        gate.Dispose();
    }
}
