using System.Globalization;
using LlamaBoard.Web.Chat;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The Chat tab: load the top bar's model with the chosen adapters (<see cref="ChatModelService"/>, once, shared
/// base), then send each message to the base and every adapter side by side with the same settings and seed
/// (<see cref="ChatSession"/>); replies stream into <see cref="ChatPane"/>s, Stop cancels, Unload frees the model.
/// </summary>
public partial class ChatTab : IDisposable
{
    static readonly IReadOnlyList<string> BoolChoices = ["true", "false"];

    string message = "";
    string? loadError;
    int renderPending;

    [Inject] BoardState State { get; set; } = default!;
    [Inject] AdapterCatalog Adapters { get; set; } = default!;
    [Inject] ChatModelService Models { get; set; } = default!;
    [Inject] ChatSession Session { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <inheritdoc/>
    protected override void OnInitialized()
    {
        State.Changed += OnStateChanged;
        Models.Changed += OnChatChanged;
        Session.Changed += OnChatChanged;
        Session.Sync();
    }

    void OnStateChanged() => _ = InvokeAsync(StateHasChanged);

    /// <summary>Streamed text arrives token by token from the generating thread: at most one render queued at a time.</summary>
    void OnChatChanged()
    {
        if (Interlocked.Exchange(ref renderPending, 1) == 1) return;
        _ = InvokeAsync(() =>
        {
            Volatile.Write(ref renderPending, 0);
            Session.Sync();
            StateHasChanged();
        });
    }

    void OnAdaptersChanged(IReadOnlyList<string> chosen) => State.ChatAdapters = chosen;

    async Task LoadAsync()
    {
        loadError = null;
        var adapters = await Adapters.ListAsync(State.Options.Model.ModelNameOrPath);
        var chosen = State.ChatAdapters
            .Select(path => adapters.FirstOrDefault(a => a.Path == path) ?? new AdapterChoice(Path.GetFileName(path.TrimEnd('/')), path))
            .ToList();
        try
        {
            await Models.LoadAsync(State.Options, chosen);
        }
#pragma warning disable CA1031 // Any failure to load (files, adapters, libtorch) is shown to the user, never swallowed.
        catch (Exception e)
#pragma warning restore CA1031
        {
            loadError = L["ChatLoadFailed", e.Message].Value;
        }
        Session.Sync();
    }

    async Task UnloadAsync()
    {
        Session.Stop();
        await Models.UnloadAsync();
        Session.Sync();
    }

    async Task SubmitAsync()
    {
        if (string.IsNullOrWhiteSpace(message) || Models.Current is null) return;
        string text = message;
        message = "";
        var o = State.Options.Clone();
        var settings = new ChatSettings(o.Data.DefaultSystem, State.ChatTools, o.Generating, State.ChatSeed, o.Data.EnableThinking);
        await Session.SendAsync(text, settings);
    }

    string LoadedInfo(LoadedChatModel loaded) => string.Format(CultureInfo.CurrentCulture, L["ChatLoaded"].Value,
        loaded.Engine.Host.Name, loaded.Targets.Count - 1, loaded.Bytes / 1048576.0, loaded.LoadTime.TotalSeconds);

    /// <inheritdoc/>
    public void Dispose()
    {
        State.Changed -= OnStateChanged;
        Models.Changed -= OnChatChanged;
        Session.Changed -= OnChatChanged;
    }
}
