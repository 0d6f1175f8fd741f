using LlamaBoard.Web.Data;

namespace LlamaBoard.Web.Services;

/// <summary>An adapter the top bar offers: a finished LoRA run's output folder or one of its checkpoints.</summary>
/// <param name="Label">What the list shows: the run name, and the checkpoint when it is one.</param>
/// <param name="Path">The adapter folder (holds adapter_config.json).</param>
public sealed record AdapterChoice(string Label, string Path);

/// <summary>
/// Adapters of earlier runs for the chosen model, from the run history: the output folders (and checkpoint-N
/// folders) of LoRA runs of the same model folder that hold adapter_config.json.
/// </summary>
public sealed class AdapterCatalog(RunHistory history)
{
    /// <summary>The adapters for <paramref name="modelPath"/>, newest run first.</summary>
    public async Task<IReadOnlyList<AdapterChoice>> ListAsync(string? modelPath, CancellationToken cancellation = default)
    {
        if (string.IsNullOrWhiteSpace(modelPath)) return [];
        var choices = new List<AdapterChoice>();
        foreach (var run in await history.LoraRunsForModelAsync(modelPath, cancellation))
        {
            if (string.IsNullOrEmpty(run.OutputDir) || !Directory.Exists(run.OutputDir)) continue;
            if (IsAdapter(run.OutputDir)) choices.Add(new AdapterChoice(run.Name, run.OutputDir));
            foreach (string checkpoint in Checkpoints(run.OutputDir))
                choices.Add(new AdapterChoice($"{run.Name} / {Path.GetFileName(checkpoint)}", checkpoint));
        }
        return choices;
    }

    static bool IsAdapter(string folder) => File.Exists(Path.Combine(folder, "adapter_config.json"));

    static IEnumerable<string> Checkpoints(string folder)
    {
        try
        {
            return Directory.GetDirectories(folder, "checkpoint-*").Where(IsAdapter)
                .OrderByDescending(f => int.TryParse(Path.GetFileName(f)["checkpoint-".Length..], out int step) ? step : -1).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
