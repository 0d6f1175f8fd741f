using LlamaBoard.Engine.Configuration;
using Microsoft.AspNetCore.Components;

namespace LlamaBoard.Web.Components.Fields;

/// <summary>
/// A text box for a number, text or list key (int, double, string, lists, and their nullable forms). Text is read
/// with the key's own option type, so "1e-4" and "1.0e-4" both work, a comma list becomes a list, and empty means
/// null where the key allows it. Text that does not parse is shown as an error next to the field and not applied.
/// Every keystroke is committed (not only on leaving the field), so the board always holds what the box shows and
/// a render caused elsewhere can only show that value back. A parse error is only shown once the user leaves the
/// field, so "1e-" on the way to "1e-4" is not flagged.
/// </summary>
/// <typeparam name="T">The property's type.</typeparam>
public partial class OptionField<T> : OptionFieldBase<T>
{
    string text = "";
    string? parseError;
    string? pendingParseError;
    object? shownValue = new();
    object? lastGivenValue = new();

    /// <summary>Rows of a multi-line field. Default: 1.</summary>
    [Parameter]
    public int Lines { get; set; } = 1;

    /// <summary>
    /// Commit the text only when the user leaves the field (Tab, click elsewhere), for keys whose change does real
    /// work (the model path: cache lookup, folder check, adapter list), so a half-typed path is never acted upon.
    /// Default: false (every keystroke is committed).
    /// </summary>
    [Parameter]
    public bool CommitOnLeave { get; set; }

    /// <summary>Text shown while the field is empty. Default: null.</summary>
    [Parameter]
    public string? Placeholder { get; set; }

    /// <inheritdoc/>
    protected override string? ErrorText => parseError ?? base.ErrorText;

    /// <inheritdoc/>
    protected override void OnParametersSet()
    {
        // Re-render the text only when the bound value changed from outside, so typing "1e-" is not overwritten. The
        // comparison is with the last value the parent gave, not with what we just committed: a cascaded validation
        // report reaches this field with the parent's previous (stale) parameters before the parent's own render
        // brings the new value, and reacting to that stale value would put the old text back in the box.
        if (Option.Type.ValuesEqual(lastGivenValue, Value)) return;
        lastGivenValue = Value;
        if (!Option.Type.ValuesEqual(shownValue, Value))
        {
            shownValue = Value;
            text = Value is null ? "" : Option.Type.Format(Value).Display;
            parseError = null;
            pendingParseError = null;
        }
    }

    void OnBlur(Microsoft.AspNetCore.Components.Web.FocusEventArgs _) => parseError = pendingParseError;

    async Task OnTextChanged(string? newText)
    {
        text = newText ?? "";
        var type = Option.Type;
        bool isText = typeof(T) == typeof(string);
        var node = text.Trim().Length == 0 ? new ConfigScalar("") : new ConfigScalar(isText ? text : text.Trim(), Quoted: isText);
        var parsed = type.Parse(node);
        if (parsed.Error is { } error)
        {
            pendingParseError = $"{Key}: {error}";
            // An error already on show follows the text; a new one waits until the user leaves the field.
            if (parseError is not null) parseError = pendingParseError;
            return;
        }
        parseError = null;
        pendingParseError = null;
        shownValue = parsed.Value;
        await ValueChanged.InvokeAsync((T)parsed.Value!);
    }
}
