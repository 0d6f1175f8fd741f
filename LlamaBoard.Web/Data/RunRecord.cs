namespace LlamaBoard.Web.Data;

/// <summary>One training run in the history: what it was told, where it wrote, how it went.</summary>
public sealed class RunRecord
{
    public int Id { get; set; }

    /// <summary>The run's name (run_name, or the output folder's name).</summary>
    public string Name { get; set; } = "";

    /// <summary>model_name_or_path as given.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>The stage's spelling (sft, dpo, …).</summary>
    public string Stage { get; set; } = "";

    /// <summary>finetuning_type's spelling (lora, freeze, full).</summary>
    public string FinetuningType { get; set; } = "";

    /// <summary>Training datasets, comma-separated.</summary>
    public string Datasets { get; set; } = "";

    /// <summary>The full options as LLaMA-Factory YAML (changed keys), enough to clone or resume the run.</summary>
    public string OptionsYaml { get; set; } = "";

    public RunStatus Status { get; set; }

    /// <summary>The device lane the run waits for or runs on ("cpu", "cuda:0").</summary>
    public string Device { get; set; } = "";

    public DateTime CreatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }

    /// <summary>output_dir.</summary>
    public string OutputDir { get; set; } = "";

    /// <summary>The last step reported.</summary>
    public int Step { get; set; }

    /// <summary>Steps of the whole run (0 until it starts).</summary>
    public int TotalSteps { get; set; }

    /// <summary>Training loss of the last step.</summary>
    public double? FinalLoss { get; set; }

    /// <summary>Lowest training loss.</summary>
    public double? BestLoss { get; set; }

    /// <summary>Lowest evaluation loss.</summary>
    public double? BestEvalLoss { get; set; }

    /// <summary>The last checkpoint folder, for Resume.</summary>
    public string? LastCheckpoint { get; set; }

    /// <summary>The step the last checkpoint holds.</summary>
    public int? LastCheckpointStep { get; set; }

    /// <summary>Why the run failed or was interrupted.</summary>
    public string? Error { get; set; }

    public List<MetricPoint> Metrics { get; set; } = [];
    public List<RunLogLine> Logs { get; set; } = [];
}

/// <summary>Whether a metric point is a training step or an evaluation.</summary>
public enum MetricKind
{
    Train,
    Eval,
}

/// <summary>One point of a run's curves: a training step (loss, lr, throughput, memory) or an evaluation.</summary>
public sealed class MetricPoint
{
    public long Id { get; set; }
    public int RunId { get; set; }
    public MetricKind Kind { get; set; }
    public int Step { get; set; }
    public double Epoch { get; set; }

    /// <summary>Training loss, or evaluation loss for <see cref="MetricKind.Eval"/>.</summary>
    public double Loss { get; set; }

    public double? LearningRate { get; set; }
    public double? GradNorm { get; set; }
    public double? TokensPerSecond { get; set; }
    public long? TotalTokens { get; set; }
    public long? MemoryBytes { get; set; }
    public double ElapsedSeconds { get; set; }

    /// <summary>Further evaluation metrics as a JSON object (bleu-4, rouge-l, …); null for training steps.</summary>
    public string? MetricsJson { get; set; }
}

/// <summary>One line of a run's log.</summary>
public sealed class RunLogLine
{
    public long Id { get; set; }
    public int RunId { get; set; }

    /// <summary>Order within the run.</summary>
    public int Sequence { get; set; }

    public DateTime Time { get; set; }

    /// <summary>info, warning or error.</summary>
    public string Level { get; set; } = "info";

    public string Message { get; set; } = "";
}
