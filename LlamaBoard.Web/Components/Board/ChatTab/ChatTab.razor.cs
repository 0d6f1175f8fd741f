using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The Chat tab: load/unload, the adapters compared side by side with the base model (one pane each, same message,
/// same seed), system prompt, tools JSON, decoding settings, thinking, clear history. Its actions stay disabled, with
/// the reason shown, until the shared-base multi-adapter inference engine is part of the build.
/// </summary>
public partial class ChatTab : IDisposable
{
    static readonly IReadOnlyList<string> BoolChoices = ["true", "false"];

    IReadOnlyList<AdapterChoice> adapters = [];
    string message = "";

    [Inject] BoardState State { get; set; } = default!;
    [Inject] AdapterCatalog Adapters { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    IReadOnlyList<string> Panes =>
        [L["BaseModel"], .. State.ChatAdapters.Select(a => adapters.FirstOrDefault(c => c.Path == a)?.Label ?? Path.GetFileName(a))];

    /// <inheritdoc/>
    protected override async Task OnInitializedAsync()
    {
        State.Changed += OnStateChanged;
        adapters = await Adapters.ListAsync(State.Options.Model.ModelNameOrPath);
    }

    void OnStateChanged() => _ = InvokeAsync(async () =>
    {
        adapters = await Adapters.ListAsync(State.Options.Model.ModelNameOrPath);
        StateHasChanged();
    });

    void OnAdaptersChanged(IEnumerable<string?>? values)
    {
        var chosen = values?.OfType<string>().Take(BoardState.MaxChatAdapters).ToList() ?? [];
        if (!chosen.SequenceEqual(State.ChatAdapters)) State.ChatAdapters = chosen;
    }

    /// <inheritdoc/>
    public void Dispose() => State.Changed -= OnStateChanged;
}
