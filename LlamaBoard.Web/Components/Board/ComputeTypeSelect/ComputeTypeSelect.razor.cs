using LlamaBoard.Engine.Configuration;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// LlamaBoard's "compute type" drop-down (bf16, fp16, fp32, pure_bf16), which sets the three keys behind it:
/// bf16, fp16 and pure_bf16. Messages about any of them are shown here.
/// </summary>
public partial class ComputeTypeSelect
{
    static readonly string[] Types = ["bf16", "fp16", "fp32", "pure_bf16"];

    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <summary>The options whose precision keys this edits. Required; default: new options.</summary>
    [Parameter, EditorRequired] public LlamaBoardOptions Options { get; set; } = new();

    /// <summary>Raised after a change. Default: none.</summary>
    [Parameter] public EventCallback Changed { get; set; }

    /// <summary>The cascaded validation messages. Default: null.</summary>
    [CascadingParameter] public ValidationReport? Report { get; set; }

    string Current => Options.Finetuning.PureBf16 ? "pure_bf16" : Options.Training.Bf16 ? "bf16" : Options.Training.Fp16 ? "fp16" : "fp32";

    string? ErrorText
    {
        get
        {
            var errors = new[] { "bf16", "fp16", "pure_bf16" }.SelectMany(k => Report?.For(k) ?? [])
                .Where(m => m.Severity == MessageSeverity.Error).Select(m => m.Text).ToList();
            return errors.Count > 0 ? string.Join(" ", errors) : null;
        }
    }

    async Task OnChanged(string? type)
    {
        Options.Training.Bf16 = type == "bf16";
        Options.Training.Fp16 = type == "fp16";
        Options.Finetuning.PureBf16 = type == "pure_bf16";
        await Changed.InvokeAsync();
    }
}
