using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// Where the loop stands, beyond HF's trainer_state.json, so that a resumed run continues exactly: the position in
/// the epoch's batch order, the logging accumulators, tokens and time so far.
/// </summary>
/// <param name="GlobalStep">Optimizer steps done.</param>
/// <param name="Epoch">The epoch being run (0-based).</param>
/// <param name="BatchesDoneInEpoch">Micro-batches of that epoch already consumed.</param>
/// <param name="LossSinceLog">Sum of step losses since the last log record.</param>
/// <param name="StepsSinceLog">Steps summed in <paramref name="LossSinceLog"/>.</param>
/// <param name="TokensSeen">Non-padding input tokens so far.</param>
/// <param name="ElapsedSeconds">Training time before this checkpoint.</param>
/// <param name="TotalLoss">Sum of all step losses (for train_loss).</param>
/// <param name="MetricsSinceLog">The stage metrics' sums and counts since the last log record (<see cref="MetricAccumulator.Snapshot"/>).</param>
public sealed record LoopPosition(long GlobalStep, int Epoch, int BatchesDoneInEpoch, double LossSinceLog, int StepsSinceLog,
                                  long TokensSeen, double ElapsedSeconds, double TotalLoss,
                                  IReadOnlyDictionary<string, double[]>? MetricsSinceLog = null)
{
    /// <summary>The file name inside a checkpoint.</summary>
    public const string FileName = "llamaboard_state.json";
}

/// <summary>
/// Checkpoint folders <c>checkpoint-N</c> in the output folder, written atomically (hidden temporary folder, then
/// rename), with <c>save_total_limit</c> rotation. Each holds the trained weights (adapter or model), the optimizer
/// and its fp32 masters (<c>optimizer.bin</c>), trainer_state.json, the loop position and the CPU RNG state.
/// </summary>
public sealed class CheckpointManager(string outputDir, int? saveTotalLimit)
{
    /// <summary>The optimizer state file.</summary>
    public const string OptimizerFileName = "optimizer.bin";
    /// <summary>libtorch's CPU random-number state.</summary>
    public const string RngFileName = "rng_state.bin";
    const string Prefix = "checkpoint-";

    /// <summary>The output folder.</summary>
    public string OutputDir { get; } = outputDir;

    /// <summary>The folder name for step <paramref name="step"/>.</summary>
    public string PathFor(long step) => Path.Combine(OutputDir, Prefix + step.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// Writes checkpoint-<paramref name="step"/>: <paramref name="writeWeights"/> and <paramref name="writeOptimizer"/>
    /// fill the folder, then the states; the folder appears only when complete. Older checkpoints beyond the limit go.
    /// </summary>
    public string Save(long step, Action<string> writeWeights, Action<Stream> writeOptimizer, TrainerState state, LoopPosition position)
    {
        string path = PathFor(step);
        AtomicDirectory.Write(path, folder =>
        {
            writeWeights(folder);
            using (var stream = File.Create(Path.Combine(folder, OptimizerFileName)))
            {
                writeOptimizer(stream);
                stream.Flush(flushToDisk: true);
            }
            state.Save(folder);
            File.WriteAllText(Path.Combine(folder, LoopPosition.FileName), JsonSerializer.Serialize(position, JsonOptions));
            using var rng = torch.get_rng_state();
            File.WriteAllBytes(Path.Combine(folder, RngFileName), rng.data<byte>().ToArray());
        });
        Rotate(keep: path);
        return path;
    }

    /// <summary>Checkpoint folders in the output folder, oldest (lowest step) first.</summary>
    public IReadOnlyList<string> List() => ListIn(OutputDir);

    /// <summary>Checkpoint folders in <paramref name="outputDir"/>, oldest (lowest step) first.</summary>
    public static IReadOnlyList<string> ListIn(string outputDir) =>
        !Directory.Exists(outputDir) ? []
        : Directory.EnumerateDirectories(outputDir, Prefix + "*")
                   .Select(d => (Dir: d, Step: long.TryParse(Path.GetFileName(d)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : -1))
                   .Where(x => x.Step >= 0 && File.Exists(Path.Combine(x.Dir, TrainerState.FileName)))
                   .OrderBy(x => x.Step).Select(x => x.Dir).ToList();

    /// <summary>The newest complete checkpoint in <paramref name="outputDir"/>, or null.</summary>
    public static string? Latest(string outputDir) => ListIn(outputDir).LastOrDefault();

    /// <summary>Reads the loop position and restores the CPU RNG state of <paramref name="checkpoint"/>.</summary>
    public static LoopPosition LoadPosition(string checkpoint)
    {
        string path = Path.Combine(checkpoint, LoopPosition.FileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"{path}: not found; this checkpoint was not written by LlamaBoard and cannot be resumed exactly.");
        var position = JsonSerializer.Deserialize<LoopPosition>(File.ReadAllText(path), JsonOptions)
                       ?? throw new InvalidDataException($"{path}: empty.");
        string rngPath = Path.Combine(checkpoint, RngFileName);
        if (File.Exists(rngPath))
        {
            byte[] bytes = File.ReadAllBytes(rngPath);
            using var state = tensor(bytes, dtype: ScalarType.Byte);
            torch.set_rng_state(state);
        }
        return position;
    }

    /// <summary>
    /// The checkpoint to resume from: resume_from_checkpoint (a folder, or "latest"/"true" for the newest in
    /// output_dir); without it, LLaMA-Factory's rule: an output_dir that already holds checkpoints resumes from the
    /// newest unless overwrite_output_dir, and a non-empty output_dir without checkpoints is refused.
    /// </summary>
    public static string? ResumePoint(Configuration.LlamaBoardOptions options, string outputDir)
    {
        string? requested = options.Training.ResumeFromCheckpoint;
        if (requested is { Length: > 0 })
        {
            if (requested.Equals("true", StringComparison.OrdinalIgnoreCase) || requested.Equals("latest", StringComparison.OrdinalIgnoreCase))
                return CheckpointManager.Latest(outputDir)
                       ?? throw new InvalidOperationException($"resume_from_checkpoint: no checkpoint-N folder in {outputDir}.");
            if (!Directory.Exists(requested))
                throw new DirectoryNotFoundException($"resume_from_checkpoint: '{requested}' does not exist.");
            return requested;
        }
        if (options.Training.OverwriteOutputDir || !Directory.Exists(outputDir)) return null;
        if (CheckpointManager.Latest(outputDir) is { } latest)
            return latest;
        var leftovers = Directory.EnumerateFileSystemEntries(outputDir)
            .Where(p => Path.GetFileName(p) is not (TrainerLog.MetricsFileName or TrainerLog.TextFileName or "training_args.yaml") && !Path.GetFileName(p).StartsWith('.'))
            .ToList();
        if (leftovers.Count > 0)
            throw new InvalidOperationException($"output_dir {outputDir} is not empty and holds no checkpoint to resume; set overwrite_output_dir: true or choose another folder.");
        return null;
    }

    void Rotate(string keep)
    {
        if (saveTotalLimit is not { } limit || limit <= 0) return;
        var all = List();
        foreach (string old in all.Take(Math.Max(0, all.Count - limit)))
            if (!string.Equals(old, keep, StringComparison.Ordinal)) Directory.Delete(old, recursive: true);
    }

    static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
