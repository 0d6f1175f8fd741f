namespace LlamaBoard.Engine.Configuration;

/// <summary>The training loop: batches, optimizer, schedule, precision, logging and checkpoints (Hugging Face's training arguments).</summary>
public sealed class TrainerOptions
{
    /// <summary>Folder for checkpoints, the final weights or adapter, logs and plots.</summary>
    [OptionKey("output_dir", OptionSection.Output,
        "Folder for checkpoints, the final model or adapter, trainer_log.jsonl and plots. Required for training.")]
    public string? OutputDir { get; set; }

    /// <summary>Write into a non-empty output_dir instead of resuming from its last checkpoint.</summary>
    [OptionKey("overwrite_output_dir", OptionSection.Output,
        "Train into an output_dir that already holds a run, starting over instead of resuming from its last checkpoint.")]
    public bool OverwriteOutputDir { get; set; }

    /// <summary>Run training.</summary>
    [OptionKey("do_train", OptionSection.Method, "Run training.")]
    public bool DoTrain { get; set; }

    /// <summary>Run evaluation on eval_dataset or the val_size split.</summary>
    [OptionKey("do_eval", OptionSection.Eval, "Evaluate on eval_dataset or the val_size split (after training, or alone).")]
    public bool DoEval { get; set; }

    /// <summary>Write predictions for the evaluation data (needs predict_with_generate).</summary>
    [OptionKey("do_predict", OptionSection.Eval, "Generate and save predictions for the evaluation data (SFT; needs predict_with_generate).")]
    public bool DoPredict { get; set; }

    /// <summary>Generate text at evaluation to compute BLEU/ROUGE and save predictions.</summary>
    [OptionKey("predict_with_generate", OptionSection.Eval, "Generate replies at evaluation to compute BLEU/ROUGE and save predictions (SFT).")]
    public bool PredictWithGenerate { get; set; }

    /// <summary>Longest generation at prediction time; null uses cutoff_len.</summary>
    [OptionKey("generation_max_length", OptionSection.Eval, "Longest generated sequence when predicting; empty uses cutoff_len.")]
    [AtLeast(1)]
    public int? GenerationMaxLength { get; set; }

    /// <summary>Beams at prediction time; null uses num_beams.</summary>
    [OptionKey("generation_num_beams", OptionSection.Eval, "Beams when predicting; empty uses num_beams.")]
    [AtLeast(1)]
    public int? GenerationNumBeams { get; set; }

    /// <summary>When to evaluate during training: no, steps or epoch.</summary>
    [OptionKey("eval_strategy", OptionSection.Eval, "When to evaluate during training: no, steps (every eval_steps) or epoch.")]
    public IntervalStrategy EvalStrategy { get; set; } = IntervalStrategy.No;

    /// <summary>Steps between evaluations; null uses logging_steps.</summary>
    [OptionKey("eval_steps", OptionSection.Eval, "Optimizer steps between evaluations; empty uses logging_steps.")]
    [AtLeast(1)]
    public int? EvalSteps { get; set; }

    /// <summary>Examples per device per forward pass in training.</summary>
    [OptionKey("per_device_train_batch_size", OptionSection.Train, "Examples per forward pass in training.")]
    [AtLeast(1)]
    public int PerDeviceTrainBatchSize { get; set; } = 8;

    /// <summary>Examples per device per forward pass in evaluation.</summary>
    [OptionKey("per_device_eval_batch_size", OptionSection.Eval, "Examples per forward pass in evaluation.")]
    [AtLeast(1)]
    public int PerDeviceEvalBatchSize { get; set; } = 8;

    /// <summary>Forward/backward passes summed before each optimizer step.</summary>
    [OptionKey("gradient_accumulation_steps", OptionSection.Train,
        "Forward/backward passes whose gradients add up before one optimizer step (effective batch = batch size x this).")]
    [AtLeast(1)]
    public int GradientAccumulationSteps { get; set; } = 1;

    /// <summary>Peak learning rate, reached after warm-up.</summary>
    [OptionKey("learning_rate", OptionSection.Train, "Peak learning rate, reached after warm-up.")]
    [GreaterThan(0)]
    public double LearningRate { get; set; } = 5e-5;

    /// <summary>Decoupled weight decay (AdamW), not applied to biases and norms.</summary>
    [OptionKey("weight_decay", OptionSection.Train, "Decoupled weight decay; biases and normalisation weights are exempt.")]
    [AtLeast(0)]
    public double WeightDecay { get; set; }

    /// <summary>Adam β1 (first-moment decay).</summary>
    [OptionKey("adam_beta1", OptionSection.Train, "Adam's decay rate of the gradient mean (beta1).")]
    [AtLeast(0), LessThan(1)]
    public double AdamBeta1 { get; set; } = 0.9;

    /// <summary>Adam β2 (second-moment decay).</summary>
    [OptionKey("adam_beta2", OptionSection.Train, "Adam's decay rate of the squared-gradient mean (beta2).")]
    [AtLeast(0), LessThan(1)]
    public double AdamBeta2 { get; set; } = 0.999;

    /// <summary>Adam ε, added to the denominator for stability.</summary>
    [OptionKey("adam_epsilon", OptionSection.Train, "Adam's epsilon, added to the denominator for numerical stability.")]
    [GreaterThan(0)]
    public double AdamEpsilon { get; set; } = 1e-8;

    /// <summary>Clip the global gradient norm to this value; 0 turns clipping off.</summary>
    [OptionKey("max_grad_norm", OptionSection.Train, "Clip the global gradient norm to this value; 0 turns clipping off.")]
    [AtLeast(0)]
    public double MaxGradNorm { get; set; } = 1.0;

    /// <summary>Passes over the training data (may be fractional); max_steps overrides it.</summary>
    [OptionKey("num_train_epochs", OptionSection.Train, "Passes over the training data (fractions allowed); max_steps overrides it.")]
    [GreaterThan(0)]
    public double NumTrainEpochs { get; set; } = 3.0;

    /// <summary>Total optimizer steps; -1 derives them from num_train_epochs.</summary>
    [OptionKey("max_steps", OptionSection.Train, "Total optimizer steps; -1 derives the count from num_train_epochs.")]
    [AtLeast(-1), NonZero]
    public int MaxSteps { get; set; } = -1;

    /// <summary>Learning-rate schedule after warm-up.</summary>
    [OptionKey("lr_scheduler_type", OptionSection.Train,
        "Learning-rate schedule: linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup or inverse_sqrt.")]
    public SchedulerType LrSchedulerType { get; set; } = SchedulerType.Linear;

    /// <summary>Share of the total steps spent warming the learning rate up from 0.</summary>
    [OptionKey("warmup_ratio", OptionSection.Train, "Share of all steps spent raising the learning rate linearly from 0, in [0, 1).")]
    [AtLeast(0), LessThan(1)]
    public double WarmupRatio { get; set; }

    /// <summary>Warm-up steps; when positive it overrides warmup_ratio.</summary>
    [OptionKey("warmup_steps", OptionSection.Train, "Warm-up length in steps; when above 0 it takes precedence over warmup_ratio.")]
    [AtLeast(0)]
    public int WarmupSteps { get; set; }

    /// <summary>The optimizer.</summary>
    [OptionKey("optim", OptionSection.Train, "Optimizer: adamw_torch, sgd, adagrad or rmsprop (8-bit and paged AdamW variants read as adamw_torch).")]
    public OptimizerName Optim { get; set; } = OptimizerName.AdamW;

    /// <summary>Mixed precision with bfloat16 compute (float32 master weights).</summary>
    [OptionKey("bf16", OptionSection.Train, "Compute in bfloat16 with float32 master weights (mixed precision).")]
    public bool Bf16 { get; set; }

    /// <summary>Mixed precision with float16 compute (float32 master weights, loss scaling).</summary>
    [OptionKey("fp16", OptionSection.Train, "Compute in float16 with float32 master weights and loss scaling (mixed precision).")]
    public bool Fp16 { get; set; }

    /// <summary>Hugging Face's switch for gradient checkpointing; LLaMA-Factory already turns it on unless disabled.</summary>
    [OptionKey("gradient_checkpointing", OptionSection.Train,
        "Hugging Face's switch for gradient checkpointing. It is on already unless disable_gradient_checkpointing is true.")]
    public bool GradientCheckpointing { get; set; }

    /// <summary>NEFTune: add uniform noise of this scale to embeddings during SFT; null turns it off.</summary>
    [OptionKey("neftune_noise_alpha", OptionSection.Train,
        "NEFTune: add uniform noise scaled by alpha/sqrt(length x hidden) to the input embeddings while training (5 to 15 is typical).")]
    [GreaterThan(0)]
    public double? NeftuneNoiseAlpha { get; set; }

    /// <summary>Smooth the target distribution by this much (0 is none).</summary>
    [OptionKey("label_smoothing_factor", OptionSection.Train, "Label smoothing of the cross-entropy targets, in [0, 1).")]
    [AtLeast(0), LessThan(1)]
    public double LabelSmoothingFactor { get; set; }

    /// <summary>When to log: no, steps or epoch.</summary>
    [OptionKey("logging_strategy", OptionSection.Output, "When to log metrics: no, steps or epoch.")]
    public IntervalStrategy LoggingStrategy { get; set; } = IntervalStrategy.Steps;

    /// <summary>Optimizer steps between log lines (loss, learning rate, throughput).</summary>
    [OptionKey("logging_steps", OptionSection.Output, "Optimizer steps between metric log entries (loss, learning rate, throughput).")]
    [AtLeast(1)]
    public int LoggingSteps { get; set; } = 500;

    /// <summary>Also log after the first step.</summary>
    [OptionKey("logging_first_step", OptionSection.Output, "Also log after the very first step.")]
    public bool LoggingFirstStep { get; set; }

    /// <summary>When to save checkpoints: no, steps or epoch.</summary>
    [OptionKey("save_strategy", OptionSection.Output, "When to save checkpoints: no, steps or epoch.")]
    public IntervalStrategy SaveStrategy { get; set; } = IntervalStrategy.Steps;

    /// <summary>Optimizer steps between checkpoints.</summary>
    [OptionKey("save_steps", OptionSection.Output, "Optimizer steps between checkpoints.")]
    [AtLeast(1)]
    public int SaveSteps { get; set; } = 500;

    /// <summary>Keep only this many checkpoints, deleting the oldest; null keeps all.</summary>
    [OptionKey("save_total_limit", OptionSection.Output, "Keep at most this many checkpoints, deleting the oldest; empty keeps all.")]
    [AtLeast(1)]
    public int? SaveTotalLimit { get; set; }

    /// <summary>Checkpoints hold weights only, without optimizer and scheduler state (they cannot be resumed).</summary>
    [OptionKey("save_only_model", OptionSection.Output,
        "Checkpoints hold the weights only, without optimizer, scheduler and RNG state; they cannot be resumed from.")]
    public bool SaveOnlyModel { get; set; }

    /// <summary>Checkpoint folder to resume from; null starts fresh (or resumes the last one in output_dir).</summary>
    [OptionKey("resume_from_checkpoint", OptionSection.Train,
        "Checkpoint folder to resume from. Empty starts afresh, or continues output_dir's last checkpoint unless overwrite_output_dir.")]
    public string? ResumeFromCheckpoint { get; set; }

    /// <summary>Random seed for initialisation, dropout and shuffling.</summary>
    [OptionKey("seed", OptionSection.Train, "Random seed for weight initialisation, dropout and shuffling.")]
    [AtLeast(0)]
    public int Seed { get; set; } = 42;

    /// <summary>Separate seed for data shuffling; null uses seed.</summary>
    [OptionKey("data_seed", OptionSection.Train, "Seed for shuffling the data; empty uses seed.")]
    [AtLeast(0)]
    public int? DataSeed { get; set; }

    /// <summary>Experiment trackers; LlamaBoard has none besides its own logs and board, so only "none" is honoured.</summary>
    [OptionKey("report_to", OptionSection.Output,
        "Experiment trackers. LlamaBoard records metrics in trainer_log.jsonl and its board; other trackers are reported as ignored.")]
    public IReadOnlyList<string> ReportTo { get; set; } = ["none"];

    /// <summary>A name for the run, shown on the board.</summary>
    [OptionKey("run_name", OptionSection.Output, "A name for the run, shown on the board.")]
    public string? RunName { get; set; }
}
