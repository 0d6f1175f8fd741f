namespace LlamaBoard.Engine.Data;

/// <summary>
/// The data settings the pipeline needs, named after LLaMA-Factory's YAML keys (in each summary).
/// <see cref="From"/> maps the validated options model onto it; tests and tools build it directly.
/// </summary>
public sealed record DataPipelineOptions
{
    /// <summary><c>dataset</c>: names in dataset_info.json, mixed by <see cref="MixStrategy"/>.</summary>
    public IReadOnlyList<string> Dataset { get; init; } = [];
    /// <summary><c>eval_dataset</c>: evaluation datasets (then <see cref="ValSize"/> must be 0).</summary>
    public IReadOnlyList<string> EvalDataset { get; init; } = [];
    /// <summary><c>dataset_dir</c>: the folder with dataset_info.json.</summary>
    public string DatasetDir { get; init; } = "data";
    /// <summary><c>template</c>: chat template name (required except for pre-training, which defaults to <c>empty</c>).</summary>
    public string? Template { get; init; }
    /// <summary><c>cutoff_len</c>: the longest sequence after tokenization.</summary>
    public int CutoffLen { get; init; } = 2048;
    /// <summary><c>max_samples</c>: keep at most this many records per dataset.</summary>
    public int? MaxSamples { get; init; }
    /// <summary><c>val_size</c>: evaluation split; a fraction in (0, 1) or a whole count ≥ 1; 0 for none.</summary>
    public double ValSize { get; init; }
    /// <summary><c>packing</c>: pack several samples into one cutoff_len row; null means on for pre-training only.</summary>
    public bool? Packing { get; init; }
    /// <summary>
    /// <c>neat_packing</c>: packing without cross-sample attention. LlamaBoard isolates packed samples whether or
    /// not this is set (restarting position ids, sample ids in the attention mask); the key implies packing, and
    /// in pre-training it also keeps documents inside one block from seeing each other.
    /// </summary>
    public bool NeatPacking { get; init; }
    /// <summary><c>train_on_prompt</c>: learn the prompt tokens too.</summary>
    public bool TrainOnPrompt { get; init; }
    /// <summary><c>mask_history</c>: learn only the last turn of a multi-turn conversation.</summary>
    public bool MaskHistory { get; init; }
    /// <summary><c>mix_strategy</c>: concat, interleave_under, interleave_over or interleave_once.</summary>
    public string MixStrategy { get; init; } = "concat";
    /// <summary><c>interleave_probs</c>: sampling weights per dataset for the interleave strategies.</summary>
    public IReadOnlyList<double>? InterleaveProbs { get; init; }
    /// <summary><c>seed</c>: for num_samples, interleaving, the validation split and shuffling.</summary>
    public int Seed { get; init; } = 42;
    /// <summary><c>default_system</c>: replaces the template's default system prompt.</summary>
    public string? DefaultSystem { get; init; }
    /// <summary><c>enable_thinking</c>: reasoning templates learn an empty thought (true) or put it in the prompt (false).</summary>
    public bool EnableThinking { get; init; } = true;
    /// <summary><c>preserve_thinking</c>: reasoning templates keep the thoughts of earlier answers (the model's own template drops them).</summary>
    public bool PreserveThinking { get; init; }
    /// <summary><c>tool_format</c>: overrides the template's tool-call format (default, qwen, llama3, mistral).</summary>
    public string? ToolFormat { get; init; }
    /// <summary><c>skip_bad_records</c> (LlamaBoard): skip malformed records and report them, instead of failing.</summary>
    public bool SkipBadRecords { get; init; }
    /// <summary><c>preprocessing_num_workers</c>: parallel workers for tokenization; null uses every core.</summary>
    public int? PreprocessingNumWorkers { get; init; }
    /// <summary><c>overwrite_cache</c>: ignore a cached tokenized dataset and rebuild it.</summary>
    public bool OverwriteCache { get; init; }
    /// <summary><c>tokenized_cache_dir</c> (LlamaBoard): where tokenized datasets are cached; null for the user cache folder.</summary>
    public string? TokenizedCacheDir { get; init; }

    /// <summary>
    /// <c>tokenized_path</c>: a folder holding one tokenized copy of the data. When it holds one it is loaded and
    /// the data options are not consulted (as in LLaMA-Factory); otherwise the data is prepared and saved there.
    /// </summary>
    public string? TokenizedPath { get; init; }

    /// <summary>Whether samples are packed for <paramref name="stage"/>.</summary>
    public bool PackingFor(DataStage stage) =>
        stage == DataStage.Pretrain ? Packing ?? true : (Packing ?? false) || NeatPacking;

    /// <summary>The data settings of a run's options (data keys, plus seed from the training keys).</summary>
    public static DataPipelineOptions From(Configuration.LlamaBoardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var d = options.Data;
        return new DataPipelineOptions
        {
            Dataset = d.Dataset ?? [],
            EvalDataset = d.EvalDataset ?? [],
            DatasetDir = d.DatasetDir,
            Template = d.Template,
            CutoffLen = d.CutoffLen,
            MaxSamples = d.MaxSamples,
            ValSize = d.ValSize,
            Packing = d.Packing,
            NeatPacking = d.NeatPacking,
            TrainOnPrompt = d.TrainOnPrompt,
            MaskHistory = d.MaskHistory,
            MixStrategy = d.MixStrategy switch
            {
                Configuration.MixStrategy.InterleaveUnder => "interleave_under",
                Configuration.MixStrategy.InterleaveOver => "interleave_over",
                Configuration.MixStrategy.InterleaveOnce => "interleave_once",
                _ => "concat",
            },
            InterleaveProbs = d.InterleaveProbs,
            Seed = options.Training.Seed,
            DefaultSystem = d.DefaultSystem,
            EnableThinking = d.EnableThinking ?? true,
            PreserveThinking = d.PreserveThinking,
            ToolFormat = d.ToolFormat,
            PreprocessingNumWorkers = d.PreprocessingNumWorkers,
            OverwriteCache = d.OverwriteCache,
            TokenizedPath = d.TokenizedPath,
        };
    }
}
