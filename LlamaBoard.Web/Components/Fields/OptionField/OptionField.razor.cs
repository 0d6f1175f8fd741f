using LlamaBoard.Engine.Configuration;
using Microsoft.AspNetCore.Components;

namespace LlamaBoard.Web.Components.Fields;

/// <summary>
/// A text box for a number, text or list key (int, double, string, lists, and their nullable forms). Text is read
/// with the key's own option type, so "1e-4" and "1.0e-4" both work, a comma list becomes a list, and empty means
/// null where the key allows it. Text that does not parse is shown as an error next to the field and not applied.
/// </summary>
/// <typeparam name="T">The property's type.</typeparam>
public partial class OptionField<T> : OptionFieldBase<T>
{
    string text = "";
    string? parseError;
    object? shownValue = new();

    /// <summary>Rows of a multi-line field. Default: 1.</summary>
    [Parameter]
    public int Lines { get; set; } = 1;

    /// <summary>Text shown while the field is empty. Default: null.</summary>
    [Parameter]
    public string? Placeholder { get; set; }

    /// <inheritdoc/>
    protected override string? ErrorText => parseError ?? base.ErrorText;

    /// <inheritdoc/>
    protected override void OnParametersSet()
    {
        // Re-render the text only when the bound value changed from outside, so typing "1e-" is not overwritten.
        if (!Option.Type.ValuesEqual(shownValue, Value))
        {
            shownValue = Value;
            text = Value is null ? "" : Option.Type.Format(Value).Display;
            parseError = null;
        }
    }

    async Task OnTextChanged(string? newText)
    {
        text = newText ?? "";
        var type = Option.Type;
        bool isText = typeof(T) == typeof(string);
        var node = text.Trim().Length == 0 ? new ConfigScalar("") : new ConfigScalar(isText ? text : text.Trim(), Quoted: isText);
        var parsed = type.Parse(node);
        if (parsed.Error is { } error)
        {
            parseError = $"{Key}: {error}";
            return;
        }
        parseError = null;
        shownValue = parsed.Value;
        await ValueChanged.InvokeAsync((T)parsed.Value!);
    }
}
