using System.Globalization;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Web.Chat;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// One pane of the side-by-side chat: the target's name, each exchange (the user's message, the thought collapsed,
/// the answer as it streams, tool calls), and per reply the tokens, first-token time and speed, or its error.
/// </summary>
public partial class ChatPane
{
    /// <summary>The pane to show (required; re-rendered by the Chat tab as text arrives).</summary>
    [Parameter, EditorRequired] public ChatPaneState Pane { get; set; } = default!;

    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    string Stats(ChatResponse final)
    {
        double decode = (final.Duration - final.TimeToFirstToken).TotalSeconds;
        double speed = final.CompletionTokens > 1 && decode > 0 ? (final.CompletionTokens - 1) / decode : 0;
        return string.Format(CultureInfo.CurrentCulture, L["ChatStats"].Value, final.CompletionTokens,
                             final.TimeToFirstToken.TotalMilliseconds, speed, final.FinishReason.ToString().ToLowerInvariant());
    }
}
