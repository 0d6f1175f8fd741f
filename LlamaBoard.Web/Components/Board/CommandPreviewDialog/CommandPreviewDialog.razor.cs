using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>Shows what Start would run: the YAML file and the equivalent <c>llamaboard train</c> command line.</summary>
public partial class CommandPreviewDialog
{
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>The YAML text. Default: empty.</summary>
    [Parameter] public string Yaml { get; set; } = "";

    /// <summary>The command line. Default: empty.</summary>
    [Parameter] public string CommandLine { get; set; } = "";
}
