using LlamaBoard.Engine.Configuration;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Fields;

/// <summary>
/// What every option control shares: the key it edits (for its label, help and messages only; the value itself is
/// bound with <c>@bind-Value</c> to a typed property), the messages about that key from the cascaded
/// <see cref="ValidationReport"/>, and the localized label.
/// </summary>
/// <typeparam name="T">The property's type.</typeparam>
public abstract class OptionFieldBase<T> : ComponentBase
{
    /// <summary>The LLaMA-Factory key this control edits, e.g. <c>learning_rate</c>. Required; default: empty.</summary>
    [Parameter, EditorRequired]
    public string Key { get; set; } = "";

    /// <summary>The value (bind with <c>@bind-Value</c>). Default: <c>default(T)</c>.</summary>
    [Parameter]
    public T Value { get; set; } = default!;

    /// <summary>Raised with the new value after the user changed it. Default: none.</summary>
    [Parameter]
    public EventCallback<T> ValueChanged { get; set; }

    /// <summary>Greys the control out. Default: false.</summary>
    [Parameter]
    public bool Disabled { get; set; }

    /// <summary>A label instead of the key's localized one. Default: null (use <c>Option_&lt;key&gt;</c> from the resources).</summary>
    [Parameter]
    public string? Label { get; set; }

    /// <summary>The messages of the last validation, cascaded by the tab. Default: null (no messages).</summary>
    [CascadingParameter]
    public ValidationReport? Report { get; set; }

    [Inject]
    IStringLocalizer<BoardText> Text { get; set; } = default!;

    /// <summary>The registry entry of <see cref="Key"/>.</summary>
    protected OptionKey Option => OptionRegistry.Get(Key);

    /// <summary>The label shown: the parameter, else the localized key label, else the key itself.</summary>
    protected string LabelText
    {
        get
        {
            if (Label is not null) return Label;
            var text = Text["Option_" + Key];
            return text.ResourceNotFound ? Key : text.Value;
        }
    }

    /// <summary>Help shown on hover: the localized help when there is one, else the registry's.</summary>
    protected string Help
    {
        get
        {
            var text = Text["Help_" + Key];
            return (text.ResourceNotFound ? Option.Doc : text.Value) + $" ({Key})";
        }
    }

    /// <summary>The errors about this key, joined; null when none.</summary>
    protected virtual string? ErrorText => Join(Report?.For(Key).Where(m => m.Severity == MessageSeverity.Error));

    /// <summary>The warnings about this key, joined; null when none.</summary>
    protected string? WarningText => Join(Report?.For(Key).Where(m => m.Severity == MessageSeverity.Warning));

    /// <summary>The id of the input element, for tests and labels: <c>opt-&lt;key&gt;</c>.</summary>
    protected string InputId => "opt-" + Key;

    static string? Join(IEnumerable<ConfigMessage>? messages)
    {
        var list = messages?.Select(m => m.Text).ToList();
        return list is { Count: > 0 } ? string.Join(" ", list) : null;
    }
}
