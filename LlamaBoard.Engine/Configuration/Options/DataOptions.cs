namespace LlamaBoard.Engine.Configuration;

/// <summary>Which data to train and evaluate on and how it becomes token sequences (LLaMA-Factory's data arguments).</summary>
public sealed class DataOptions
{
    /// <summary>Chat template that turns conversations into text, such as qwen3 or llama3.</summary>
    [OptionKey("template", OptionSection.Dataset,
        "Chat template that turns messages into model text, e.g. qwen3, llama3, default. Must match the model's chat format.")]
    public string? Template { get; set; }

    /// <summary>Training dataset names from dataset_info.json (comma-separated).</summary>
    [OptionKey("dataset", OptionSection.Dataset,
        "Training dataset name(s) from <dataset_dir>/dataset_info.json, comma-separated.")]
    public IReadOnlyList<string>? Dataset { get; set; }

    /// <summary>Evaluation dataset names from dataset_info.json (comma-separated).</summary>
    [OptionKey("eval_dataset", OptionSection.Eval,
        "Evaluation dataset name(s) from <dataset_dir>/dataset_info.json, comma-separated. Excludes val_size.")]
    public IReadOnlyList<string>? EvalDataset { get; set; }

    /// <summary>Folder holding dataset_info.json and the data files.</summary>
    [OptionKey("dataset_dir", OptionSection.Dataset, "Folder that holds dataset_info.json and the data files.")]
    public string DatasetDir { get; set; } = "data";

    /// <summary>Longest tokenized example; longer ones are truncated.</summary>
    [OptionKey("cutoff_len", OptionSection.Dataset,
        "Maximum length in tokens of one tokenized example (prompt plus response); longer examples are truncated.")]
    [AtLeast(2)]
    public int CutoffLen { get; set; } = 2048;

    /// <summary>Also compute the loss on prompt tokens, not only on responses.</summary>
    [OptionKey("train_on_prompt", OptionSection.Dataset, "Compute the loss on prompt tokens too (SFT only).")]
    public bool TrainOnPrompt { get; set; }

    /// <summary>Train on the last turn of each conversation only; earlier turns are context.</summary>
    [OptionKey("mask_history", OptionSection.Dataset,
        "Compute the loss on the last assistant turn only; earlier turns are context (SFT only).")]
    public bool MaskHistory { get; set; }

    /// <summary>How several datasets are combined.</summary>
    [OptionKey("mix_strategy", OptionSection.Dataset,
        "How several datasets are combined: concat, interleave_under, interleave_over or interleave_once.")]
    public MixStrategy MixStrategy { get; set; } = MixStrategy.Concat;

    /// <summary>Sampling probability of each dataset when interleaving (comma-separated, one per dataset).</summary>
    [OptionKey("interleave_probs", OptionSection.Dataset,
        "Sampling probability of each dataset when interleaving, comma-separated, one per dataset.")]
    public IReadOnlyList<double>? InterleaveProbs { get; set; }

    /// <summary>Re-tokenize even when a cached tokenized copy exists.</summary>
    [OptionKey("overwrite_cache", OptionSection.Dataset, "Tokenize again even if a cached tokenized copy exists.")]
    public bool OverwriteCache { get; set; }

    /// <summary>Number of examples tokenized together in one batch.</summary>
    [OptionKey("preprocessing_batch_size", OptionSection.Dataset, "Examples tokenized together in one batch.")]
    [AtLeast(1)]
    public int PreprocessingBatchSize { get; set; } = 1000;

    /// <summary>Worker threads for tokenization; null lets LlamaBoard choose.</summary>
    [OptionKey("preprocessing_num_workers", OptionSection.Dataset,
        "Threads used for tokenization; empty lets LlamaBoard choose from the CPU count.")]
    [AtLeast(1)]
    public int? PreprocessingNumWorkers { get; set; }

    /// <summary>Use at most this many examples from each dataset (for quick runs).</summary>
    [OptionKey("max_samples", OptionSection.Dataset, "Use at most this many examples of each dataset (for quick runs and debugging).")]
    [AtLeast(1)]
    public int? MaxSamples { get; set; }

    /// <summary>Beam count for generation during evaluation; overrides generation_num_beams.</summary>
    [OptionKey("eval_num_beams", OptionSection.Eval, "Beams used when generating during evaluation.")]
    [AtLeast(1)]
    public int? EvalNumBeams { get; set; }

    /// <summary>Exclude padding positions from the loss.</summary>
    [OptionKey("ignore_pad_token_for_loss", OptionSection.Dataset, "Leave padding positions out of the loss.")]
    public bool IgnorePadTokenForLoss { get; set; } = true;

    /// <summary>Held-out share of the training data for evaluation: a fraction below 1, or a whole count.</summary>
    [OptionKey("val_size", OptionSection.Eval,
        "Examples held out of the training data for evaluation: a fraction in [0, 1) or a whole number of examples.")]
    [AtLeast(0)]
    public double ValSize { get; set; }

    /// <summary>Report evaluation metrics per evaluation dataset instead of pooled.</summary>
    [OptionKey("eval_on_each_dataset", OptionSection.Eval, "Evaluate each evaluation dataset separately.")]
    public bool EvalOnEachDataset { get; set; }

    /// <summary>Pack several examples into each sequence; null means on for pre-training only.</summary>
    [OptionKey("packing", OptionSection.Dataset,
        "Pack several examples into each cutoff_len sequence. Empty means: on for stage pt, off otherwise.")]
    public bool? Packing { get; set; }

    /// <summary>Packing where examples cannot attend to each other (block-diagonal attention); implies packing.</summary>
    [OptionKey("neat_packing", OptionSection.Dataset,
        "Packing with block-diagonal attention so packed examples cannot see each other. Implies packing (SFT only).")]
    public bool NeatPacking { get; set; }

    /// <summary>How tool calls are written in prompts; null uses the template's own format.</summary>
    [OptionKey("tool_format", OptionSection.Dataset,
        "Format of tool (function) calls in prompts; empty uses the template's own format.")]
    public string? ToolFormat { get; set; }

    /// <summary>Replaces the template's default system prompt.</summary>
    [OptionKey("default_system", OptionSection.Dataset, "System prompt used instead of the template's default one.")]
    public string? DefaultSystem { get; set; }

    /// <summary>Let reasoning models think (emit a thinking block) before answering; null leaves it to the template.</summary>
    [OptionKey("enable_thinking", OptionSection.Dataset,
        "Whether reasoning models think before answering (templates with a thinking block, such as qwen3).")]
    public bool? EnableThinking { get; set; } = true;

    /// <summary>Keep the thinking text of earlier turns in multi-turn prompts.</summary>
    [OptionKey("preserve_thinking", OptionSection.Dataset, "Keep the thinking text of earlier assistant turns in the prompt.")]
    public bool PreserveThinking { get; set; }

    /// <summary>Folder of a tokenized copy of the datasets: written if absent, read if present.</summary>
    [OptionKey("tokenized_path", OptionSection.Dataset,
        "Folder for a tokenized copy of the datasets: written when it does not exist, read (skipping tokenization) when it does.")]
    public string? TokenizedPath { get; set; }
}
