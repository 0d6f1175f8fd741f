using LlamaBoard.Web.Data;
using LlamaBoard.Web.Security;

namespace LlamaBoard.Web.Services;

/// <summary>An adapter the top bar offers: a finished LoRA run's output folder or one of its checkpoints.</summary>
/// <param name="Label">What the list shows: the run name, and the checkpoint when it is one.</param>
/// <param name="Path">The adapter folder (holds adapter_config.json).</param>
public sealed record AdapterChoice(string Label, string Path);

/// <summary>
/// Adapters of earlier runs for the chosen model, from the run history: the output folders (and checkpoint-N
/// folders) of LoRA runs of the same model folder that hold adapter_config.json. Only folders inside the board's
/// allowed folders (<see cref="BoardRoots"/>) are listed: a run from before the roots were narrowed stays unlisted.
/// </summary>
public sealed class AdapterCatalog(RunHistory history, BoardRoots roots)
{
    /// <summary>The adapters for <paramref name="modelPath"/>, newest run first; none for a model outside the roots.</summary>
    public async Task<IReadOnlyList<AdapterChoice>> ListAsync(string? modelPath, CancellationToken cancellation = default)
    {
        if (string.IsNullOrWhiteSpace(modelPath) || roots.ModelRefusal(modelPath, "model") is not null) return [];
        var choices = new List<AdapterChoice>();
        foreach (var run in await history.LoraRunsForModelAsync(modelPath, cancellation))
        {
            if (string.IsNullOrEmpty(run.OutputDir) || !roots.Allows(run.OutputDir) || !Directory.Exists(run.OutputDir)) continue;
            if (IsAdapter(run.OutputDir)) choices.Add(new AdapterChoice(run.Name, run.OutputDir));
            // A checkpoint-N that is a link out of the roots is skipped like any other outside folder.
            foreach (string checkpoint in Checkpoints(run.OutputDir).Where(roots.Allows))
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
