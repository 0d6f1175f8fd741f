using LlamaBoard.Engine.Configuration;
using Microsoft.AspNetCore.Components;

namespace LlamaBoard.Web.Components.Fields;

/// <summary>
/// A drop-down for an enum key (or a nullable enum, which adds <see cref="NoneText"/> for null), listing the
/// spellings the key registry allows, or for a text key, the given <see cref="Options"/>.
/// </summary>
/// <typeparam name="T">The property's type: an enum, a nullable enum, or string.</typeparam>
public partial class OptionSelect<T> : OptionFieldBase<T>
{
    /// <summary>The value standing for null. </summary>
    public const string None = "";

    /// <summary>Choices for a text key (for enums the registry's spellings are used). Default: null.</summary>
    [Parameter]
    public IReadOnlyList<string>? Options { get; set; }

    /// <summary>What the null choice reads. Default: "none".</summary>
    [Parameter]
    public string NoneText { get; set; } = "none";

    IEnumerable<string> Choices
    {
        get
        {
            var values = Options ?? Option.Type.AllowedValues;
            return Option.Type.IsNullable ? [None, .. values] : values;
        }
    }

    string Selected => Value is null ? None : Option.Type.Format(Value).Display;

    string ChoiceText(string choice) => choice == None ? NoneText : choice;

    async Task OnSelected(string? choice)
    {
        // MudSelect may report the current value again (when it re-renders): that is no change.
        if ((choice ?? None) == Selected) return;
        if (string.IsNullOrEmpty(choice))
        {
            await ValueChanged.InvokeAsync(default!);
            return;
        }
        var parsed = Option.Type.Parse(new ConfigScalar(choice, Quoted: typeof(T) == typeof(string)));
        if (parsed.Error is null) await ValueChanged.InvokeAsync((T)parsed.Value!);
    }
}
