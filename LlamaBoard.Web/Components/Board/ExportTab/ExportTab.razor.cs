using System.Globalization;
using LlamaBoard.Engine.Export;
using LlamaBoard.Web.Export;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Board;

/// <summary>
/// The Export tab: adapters merged in order (the top bar's adapter_name_or_path), shard size, dtype, merge device,
/// format (Hugging Face folder, or GGUF of a tensor type plus an Ollama Modelfile), overwrite and export folder;
/// Export runs <see cref="ExportSession"/> with its progress lines, then lists the files written and their sizes, or
/// the error in plain words.
/// </summary>
public partial class ExportTab : IDisposable
{
    int renderPending;

    [Inject] BoardState State { get; set; } = default!;
    [Inject] ExportSession Export { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    /// <inheritdoc/>
    protected override void OnInitialized()
    {
        State.Changed += OnChanged;
        Export.Changed += OnChanged;
    }

    void OnChanged()
    {
        if (Interlocked.Exchange(ref renderPending, 1) == 1) return;
        _ = InvokeAsync(() =>
        {
            Volatile.Write(ref renderPending, 0);
            StateHasChanged();
        });
    }

    /// <summary>What stops an export: the engine's export checks on the form (export_dir, quantization, model).</summary>
    List<string> ExportErrors() => State.Validate(Engine.Configuration.OptionsPurpose.Export).Messages
        .Where(m => m.Severity == Engine.Configuration.MessageSeverity.Error && m.Key is "export_dir" or "quantization_bit" or "model_name_or_path"
                    or "adapter_name_or_path" or "export_size" or "export_gguf_type")
        .Select(m => m.Text).Distinct().ToList();

    void OnAdaptersChanged(IReadOnlyList<string> chosen)
    {
        State.Options.Model.AdapterNameOrPath = chosen.Count == 0 ? null : [.. chosen];
        State.NotifyChanged();
    }

    async Task RunAsync()
    {
        var (options, _) = State.Build();
        await Export.RunAsync(options);
    }

    string Done(ExportResult result) => string.Format(CultureInfo.CurrentCulture, L["ExportDone"].Value,
        Export.Files.Count, Size(Export.Files.Sum(f => f.Bytes)), result.OutputDirectory, result.Elapsed.TotalSeconds);

    static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.CurrentCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.CurrentCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.CurrentCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.CurrentCulture, $"{bytes} B"),
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        State.Changed -= OnChanged;
        Export.Changed -= OnChanged;
    }
}
