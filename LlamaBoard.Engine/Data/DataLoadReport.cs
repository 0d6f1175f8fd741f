using System.Globalization;
using System.Text;

namespace LlamaBoard.Engine.Data;

/// <summary>What happened to one dataset while it was read: counts, and the records skipped with their reasons.</summary>
public sealed record DatasetLoadSummary
{
    /// <summary>Samples of skipped records kept for the report (the count covers all of them).</summary>
    public const int MaxSamplesKept = 20;

    /// <summary>The dataset name.</summary>
    public required string Name { get; init; }
    /// <summary>The files read, in order.</summary>
    public required IReadOnlyList<string> Files { get; init; }
    /// <summary>Records found in the files.</summary>
    public long Records { get; init; }
    /// <summary>Examples that passed conversion and the stage's checks (before num_samples/max_samples).</summary>
    public long Examples { get; init; }
    /// <summary>Records skipped as malformed (only with skip_bad_records).</summary>
    public long Skipped { get; init; }
    /// <summary>The first <see cref="MaxSamplesKept"/> skipped records, each with its reason and location.</summary>
    public IReadOnlyList<DatasetException> SkippedSamples { get; init; } = [];
    /// <summary>Examples kept after num_samples and max_samples.</summary>
    public long Kept { get; init; }
}

/// <summary>
/// The load summaries of every dataset of a run, printed in the log and shown on the board, plus the examples
/// that converted but could not be tokenized (a malformed tool call, …) and were skipped.
/// </summary>
public sealed record DataLoadReport(IReadOnlyList<DatasetLoadSummary> Datasets)
{
    /// <summary>Examples skipped while tokenizing (only with skip_bad_records).</summary>
    public long PreprocessingSkipped { get; init; }

    /// <summary>The first of those, with their reasons.</summary>
    public IReadOnlyList<DatasetException> PreprocessingSamples { get; init; } = [];

    /// <summary>Records and examples skipped across all datasets.</summary>
    public long Skipped => Datasets.Sum(d => d.Skipped) + PreprocessingSkipped;

    /// <summary>A few human-readable lines: one per dataset, then each sampled skip reason.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var d in Datasets)
        {
            text.Append(CultureInfo.InvariantCulture,
                        $"dataset '{d.Name}': {d.Records} records, {d.Examples} examples, {d.Kept} kept");
            if (d.Skipped > 0) text.Append(CultureInfo.InvariantCulture, $", {d.Skipped} malformed records skipped");
            text.AppendLine();
            foreach (var e in d.SkippedSamples) text.Append("  skipped: ").AppendLine(e.Message);
            if (d.Skipped > d.SkippedSamples.Count)
                text.Append(CultureInfo.InvariantCulture, $"  … and {d.Skipped - d.SkippedSamples.Count} more").AppendLine();
        }
        if (PreprocessingSkipped > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{PreprocessingSkipped} examples skipped while tokenizing").AppendLine();
            foreach (var e in PreprocessingSamples) text.Append("  skipped: ").AppendLine(e.Message);
        }
        return text.ToString();
    }
}
