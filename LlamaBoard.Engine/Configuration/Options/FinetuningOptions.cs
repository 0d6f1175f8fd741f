namespace LlamaBoard.Engine.Configuration;

/// <summary>What to train and with which method (LLaMA-Factory's fine-tuning arguments).</summary>
public sealed class FinetuningOptions
{
    /// <summary>The training stage: pt, sft, rm, ppo, dpo or kto.</summary>
    [OptionKey("stage", OptionSection.Method, "Training stage: pt, sft, rm, ppo, dpo or kto.")]
    public TrainingStage Stage { get; set; } = TrainingStage.Sft;

    /// <summary>Which weights train: lora, freeze or full.</summary>
    [OptionKey("finetuning_type", OptionSection.Method, "Which weights train: lora (adapters), freeze (some layers) or full (all).")]
    public FinetuningType FinetuningType { get; set; } = FinetuningType.Lora;

    /// <summary>Train entirely in bfloat16, without float32 master weights.</summary>
    [OptionKey("pure_bf16", OptionSection.Train,
        "Train entirely in bfloat16 without float32 master copies of the trainable weights (less memory, less precise).")]
    public bool PureBf16 { get; set; }

    /// <summary>Draw the loss curves into the output folder after training.</summary>
    [OptionKey("plot_loss", OptionSection.Output, "Save pictures of the training (and evaluation) loss curves in output_dir.")]
    public bool PlotLoss { get; set; }

    /// <summary>Also report token-level accuracy at evaluation.</summary>
    [OptionKey("compute_accuracy", OptionSection.Eval, "Also compute token-level accuracy at evaluation.")]
    public bool ComputeAccuracy { get; set; }

    /// <summary>Keep the training examples in their original order.</summary>
    [OptionKey("disable_shuffling", OptionSection.Train, "Keep the training examples in their original order instead of shuffling.")]
    public bool DisableShuffling { get; set; }

    /// <summary>Stop when the evaluation loss has not improved for this many evaluations.</summary>
    [OptionKey("early_stopping_steps", OptionSection.Train,
        "Stop training when the evaluation loss has not improved for this many evaluations.")]
    [AtLeast(1)]
    public int? EarlyStoppingSteps { get; set; }

    /// <summary>Report throughput counting only non-padding tokens.</summary>
    [OptionKey("include_effective_tokens_per_second", OptionSection.Output,
        "Report throughput counting real (non-padding) tokens only.")]
    public bool IncludeEffectiveTokensPerSecond { get; set; }

    /// <summary>LoRA settings (also DoRA, rsLoRA, PiSSA and LoRA+).</summary>
    [OptionGroup("lora")]
    public LoraOptions Lora { get; set; } = new();

    /// <summary>Freeze (partial-parameter) settings.</summary>
    [OptionGroup("freeze")]
    public FreezeOptions Freeze { get; set; } = new();

    /// <summary>Preference and reinforcement settings: DPO, KTO, ORPO, SimPO, reward models and PPO.</summary>
    [OptionGroup("preference")]
    public PreferenceOptions Preference { get; set; } = new();

    /// <summary>GaLore (gradient low-rank projection) settings.</summary>
    [OptionGroup("galore")]
    public GaloreOptions GaLore { get; set; } = new();

    /// <summary>BAdam (block coordinate Adam) settings.</summary>
    [OptionGroup("badam")]
    public BAdamOptions BAdam { get; set; } = new();
}

/// <summary>LoRA and its variants.</summary>
public sealed class LoraOptions
{
    /// <summary>Rank r of the update B·A added to each target weight.</summary>
    [OptionKey("lora_rank", OptionSection.Method, "Rank r of the low-rank update B·A; more rank, more trainable parameters.")]
    [AtLeast(1)]
    public int Rank { get; set; } = 8;

    /// <summary>Scale numerator: the update is multiplied by alpha/r (alpha/√r with rsLoRA); null means 2·rank.</summary>
    [OptionKey("lora_alpha", OptionSection.Method,
        "Scaling numerator: the update is multiplied by alpha/r (alpha/sqrt(r) with rsLoRA). Empty means 2 x lora_rank.")]
    [GreaterThan(0)]
    public int? Alpha { get; set; }

    /// <summary>Dropout on the adapter's input.</summary>
    [OptionKey("lora_dropout", OptionSection.Method, "Dropout probability on the adapter's input, in [0, 1).")]
    [AtLeast(0), LessThan(1)]
    public double Dropout { get; set; }

    /// <summary>Module names that get adapters, or "all" for every linear layer except the output head.</summary>
    [OptionKey("lora_target", OptionSection.Method,
        "Modules that get adapters, comma-separated (q_proj,v_proj,…), or all for every linear layer but lm_head.")]
    public IReadOnlyList<string> Target { get; set; } = ["all"];

    /// <summary>Other modules trained fully and saved with the adapter (for example embed_tokens, lm_head).</summary>
    [OptionKey("additional_target", OptionSection.Method,
        "Modules besides the adapters that are trained in full and saved with the adapter (e.g. embed_tokens,lm_head).")]
    public IReadOnlyList<string>? AdditionalTarget { get; set; }

    /// <summary>LoRA+: the learning rate of B is this many times that of A.</summary>
    [OptionKey("loraplus_lr_ratio", OptionSection.Method,
        "LoRA+: the B matrices learn this many times faster than the A matrices (16 is typical).")]
    [GreaterThan(0)]
    public double? LoraPlusLrRatio { get; set; }

    /// <summary>LoRA+: learning rate of adapters on embedding layers.</summary>
    [OptionKey("loraplus_lr_embedding", OptionSection.Method, "LoRA+: learning rate of adapters on embedding layers.")]
    [GreaterThan(0)]
    public double LoraPlusLrEmbedding { get; set; } = 1e-6;

    /// <summary>rsLoRA: scale by alpha/√r, which keeps high ranks stable.</summary>
    [OptionKey("use_rslora", OptionSection.Method, "rsLoRA: scale the update by alpha/sqrt(r) instead of alpha/r (stable at high ranks).")]
    public bool UseRsLora { get; set; }

    /// <summary>DoRA: split each weight into magnitude and direction and adapt the direction.</summary>
    [OptionKey("use_dora", OptionSection.Method,
        "DoRA: decompose each target weight into a magnitude vector and a direction, and adapt the direction with LoRA.")]
    public bool UseDora { get; set; }

    /// <summary>PiSSA: start the adapter from the weight's principal singular vectors.</summary>
    [OptionKey("pissa_init", OptionSection.Method,
        "PiSSA: initialise A and B from the principal singular vectors of each weight, and train from there.")]
    public bool PissaInit { get; set; }

    /// <summary>PiSSA: iterations of fast SVD; -1 uses an exact SVD.</summary>
    [OptionKey("pissa_iter", OptionSection.Method, "PiSSA: iterations of the fast randomised SVD; -1 uses an exact SVD.")]
    [AtLeast(-1), NonZero]
    public int PissaIter { get; set; } = 16;

    /// <summary>PiSSA: convert the trained adapter to an ordinary LoRA adapter at save.</summary>
    [OptionKey("pissa_convert", OptionSection.Method,
        "PiSSA: convert the trained adapter into an ordinary LoRA adapter of the original weights when saving.")]
    public bool PissaConvert { get; set; }

    /// <summary>Add a fresh adapter on top of the ones in adapter_name_or_path instead of continuing the last.</summary>
    [OptionKey("create_new_adapter", OptionSection.Method,
        "Train a new adapter on top of adapter_name_or_path instead of continuing to train the last one.")]
    public bool CreateNewAdapter { get; set; }

    /// <summary>The scale numerator actually used: <see cref="Alpha"/>, or 2·<see cref="Rank"/> when unset.</summary>
    public int EffectiveAlpha => Alpha ?? 2 * Rank;

    /// <summary>True when <see cref="Target"/> is "all" (every linear layer except the output head).</summary>
    public bool TargetsAllLinear => Target.Count == 1 && string.Equals(Target[0], "all", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Freeze (partial-parameter) tuning.</summary>
public sealed class FreezeOptions
{
    /// <summary>How many decoder layers train: n &gt; 0 the last n, n &lt; 0 the first |n|.</summary>
    [OptionKey("freeze_trainable_layers", OptionSection.Method,
        "Decoder layers that train: a positive n trains the last n layers, a negative n the first n.")]
    [NonZero]
    public int TrainableLayers { get; set; } = 2;

    /// <summary>Which modules inside the trainable layers train, or "all".</summary>
    [OptionKey("freeze_trainable_modules", OptionSection.Method,
        "Modules inside the trainable layers that train, comma-separated (mlp,self_attn), or all.")]
    public IReadOnlyList<string> TrainableModules { get; set; } = ["all"];

    /// <summary>Modules outside the decoder layers that train too (for example embed_tokens).</summary>
    [OptionKey("freeze_extra_modules", OptionSection.Method,
        "Modules outside the decoder layers that train as well, comma-separated (e.g. embed_tokens,norm).")]
    public IReadOnlyList<string>? ExtraModules { get; set; }
}

/// <summary>Preference optimisation (DPO, ORPO, SimPO, KTO), reward models and PPO.</summary>
public sealed class PreferenceOptions
{
    /// <summary>β of the preference loss: how far the policy may move from the reference.</summary>
    [OptionKey("pref_beta", OptionSection.Method, "Beta of the preference loss: larger keeps the policy closer to the reference.")]
    [GreaterThan(0)]
    public double Beta { get; set; } = 0.1;

    /// <summary>Weight of an added supervised (SFT) loss on the chosen responses.</summary>
    [OptionKey("pref_ftx", OptionSection.Method, "Weight of an extra supervised loss on the chosen responses (0 turns it off).")]
    [AtLeast(0)]
    public double Ftx { get; set; }

    /// <summary>The DPO-stage loss: sigmoid, hinge, ipo, kto_pair, orpo or simpo.</summary>
    [OptionKey("pref_loss", OptionSection.Method, "Loss of the dpo stage: sigmoid (DPO), hinge, ipo, kto_pair, orpo or simpo.")]
    public PreferenceLoss Loss { get; set; } = PreferenceLoss.Sigmoid;

    /// <summary>Robust (conservative) DPO label smoothing in [0, 0.5]; sigmoid loss only.</summary>
    [OptionKey("dpo_label_smoothing", OptionSection.Method,
        "Conservative DPO: assumed share of flipped preference labels, in [0, 0.5]. Sigmoid loss only.")]
    [AtLeast(0), AtMost(0.5)]
    public double DpoLabelSmoothing { get; set; }

    /// <summary>SimPO's target reward margin γ.</summary>
    [OptionKey("simpo_gamma", OptionSection.Method, "SimPO's target reward margin gamma.")]
    public double SimpoGamma { get; set; } = 0.5;

    /// <summary>KTO weight of desirable examples.</summary>
    [OptionKey("kto_chosen_weight", OptionSection.Method, "KTO: weight of the desirable examples' loss.")]
    [GreaterThan(0)]
    public double KtoChosenWeight { get; set; } = 1.0;

    /// <summary>KTO weight of undesirable examples.</summary>
    [OptionKey("kto_rejected_weight", OptionSection.Method, "KTO: weight of the undesirable examples' loss.")]
    [GreaterThan(0)]
    public double KtoRejectedWeight { get; set; } = 1.0;

    /// <summary>Reference model for DPO/KTO/PPO; null uses the policy's own base weights (adapters disabled).</summary>
    [OptionKey("ref_model", OptionSection.Method,
        "Reference model folder for dpo, kto and ppo; empty uses the starting model itself (LoRA: the base with adapters off).")]
    public string? RefModel { get; set; }

    /// <summary>Adapters applied to the reference model.</summary>
    [OptionKey("ref_model_adapters", OptionSection.Method, "Adapter folder(s) applied to ref_model.")]
    public IReadOnlyList<string>? RefModelAdapters { get; set; }

    /// <summary>Quantize the reference model to 4 or 8 bits.</summary>
    [OptionKey("ref_model_quantization_bit", OptionSection.Method, "Quantize the reference model to 4 or 8 bits to save memory.")]
    [OneOf(4, 8)]
    public int? RefModelQuantizationBit { get; set; }

    /// <summary>Reward model for PPO: a reward adapter (lora), a full model, or an API address.</summary>
    [OptionKey("reward_model", OptionSection.Method,
        "Reward model for ppo: a reward adapter folder (reward_model_type lora), a model folder (full) or an URL (api).")]
    public string? RewardModel { get; set; }

    /// <summary>Adapters applied to a full reward model.</summary>
    [OptionKey("reward_model_adapters", OptionSection.Method, "Adapter folder(s) applied to a full reward model.")]
    public IReadOnlyList<string>? RewardModelAdapters { get; set; }

    /// <summary>Quantize a full reward model to 4 or 8 bits.</summary>
    [OptionKey("reward_model_quantization_bit", OptionSection.Method, "Quantize a full reward model to 4 or 8 bits.")]
    [OneOf(4, 8)]
    public int? RewardModelQuantizationBit { get; set; }

    /// <summary>What the reward model is: lora, full or api.</summary>
    [OptionKey("reward_model_type", OptionSection.Method,
        "Kind of reward_model: lora (an adapter on the policy's base; needs finetuning_type lora), full or api.")]
    public RewardModelType RewardModelType { get; set; } = RewardModelType.Lora;

    /// <summary>PPO: mini-batches collected into the experience buffer per optimisation step.</summary>
    [OptionKey("ppo_buffer_size", OptionSection.Method, "PPO: mini-batches of experience gathered per optimisation step.")]
    [AtLeast(1)]
    public int PpoBufferSize { get; set; } = 1;

    /// <summary>PPO: passes over the experience buffer per optimisation step.</summary>
    [OptionKey("ppo_epochs", OptionSection.Method, "PPO: passes over the experience buffer per optimisation step.")]
    [AtLeast(1)]
    public int PpoEpochs { get; set; } = 4;

    /// <summary>PPO: normalise reward scores.</summary>
    [OptionKey("ppo_score_norm", OptionSection.Method, "PPO: normalise the reward scores.")]
    public bool PpoScoreNorm { get; set; }

    /// <summary>PPO: target KL divergence of the adaptive KL controller.</summary>
    [OptionKey("ppo_target", OptionSection.Method, "PPO: target KL divergence for the adaptive KL penalty.")]
    [GreaterThan(0)]
    public double PpoTarget { get; set; } = 6.0;

    /// <summary>PPO: whiten rewards before computing advantages.</summary>
    [OptionKey("ppo_whiten_rewards", OptionSection.Method, "PPO: whiten the rewards before computing advantages.")]
    public bool PpoWhitenRewards { get; set; }
}

/// <summary>GaLore: full-parameter training with gradients projected to a low rank.</summary>
public sealed class GaloreOptions
{
    /// <summary>Use GaLore (full or freeze tuning only).</summary>
    [OptionKey("use_galore", OptionSection.Method, "GaLore: project gradients to a low rank to save optimizer memory (full/freeze tuning).")]
    public bool UseGalore { get; set; }

    /// <summary>Modules whose gradients are projected, or "all" linear layers.</summary>
    [OptionKey("galore_target", OptionSection.Method, "GaLore: modules whose gradients are projected, comma-separated, or all.")]
    public IReadOnlyList<string> Target { get; set; } = ["all"];

    /// <summary>Rank of the projected gradients.</summary>
    [OptionKey("galore_rank", OptionSection.Method, "GaLore: rank of the projected gradients.")]
    [AtLeast(1)]
    public int Rank { get; set; } = 16;

    /// <summary>Steps between recomputations of the projection.</summary>
    [OptionKey("galore_update_interval", OptionSection.Method, "GaLore: steps between recomputations of the projection.")]
    [AtLeast(1)]
    public int UpdateInterval { get; set; } = 200;

    /// <summary>Scale applied to the projected update.</summary>
    [OptionKey("galore_scale", OptionSection.Method, "GaLore: scale of the projected update.")]
    [GreaterThan(0)]
    public double Scale { get; set; } = 2.0;

    /// <summary>Projection side.</summary>
    [OptionKey("galore_proj_type", OptionSection.Method, "GaLore: projection side: std, reverse_std, right, left or full.")]
    public GaloreProjectionType ProjType { get; set; } = GaloreProjectionType.Std;

    /// <summary>Update layer by layer during backward, to save more memory.</summary>
    [OptionKey("galore_layerwise", OptionSection.Method, "GaLore: update each layer during the backward pass to save more memory.")]
    public bool Layerwise { get; set; }
}

/// <summary>BAdam: Adam on one block of parameters at a time.</summary>
public sealed class BAdamOptions
{
    /// <summary>Use BAdam (full or freeze tuning only).</summary>
    [OptionKey("use_badam", OptionSection.Method, "BAdam: run Adam on one block of parameters at a time (full/freeze tuning).")]
    public bool UseBadam { get; set; }

    /// <summary>layer (blocks of layers) or ratio (a fraction of each weight).</summary>
    [OptionKey("badam_mode", OptionSection.Method, "BAdam: layer (one block of layers at a time) or ratio (a fraction of every weight).")]
    public BAdamMode Mode { get; set; } = BAdamMode.Layer;

    /// <summary>Index of the first block (layer mode); null follows badam_switch_mode.</summary>
    [OptionKey("badam_start_block", OptionSection.Method, "BAdam: index of the first block to train (layer mode).")]
    [AtLeast(0)]
    public int? StartBlock { get; set; }

    /// <summary>Order in which blocks are visited (layer mode).</summary>
    [OptionKey("badam_switch_mode", OptionSection.Method, "BAdam: order of blocks: ascending, descending, random or fixed.")]
    public BAdamSwitchMode SwitchMode { get; set; } = BAdamSwitchMode.Ascending;

    /// <summary>Steps per block before switching; -1 never switches.</summary>
    [OptionKey("badam_switch_interval", OptionSection.Method, "BAdam: steps before moving to the next block; -1 never moves.")]
    [AtLeast(-1), NonZero]
    public int SwitchInterval { get; set; } = 50;

    /// <summary>Fraction of each weight updated (ratio mode).</summary>
    [OptionKey("badam_update_ratio", OptionSection.Method, "BAdam: fraction of each weight that is updated (ratio mode).")]
    [GreaterThan(0), AtMost(1)]
    public double UpdateRatio { get; set; } = 0.05;

    /// <summary>How trainable entries are picked (ratio mode).</summary>
    [OptionKey("badam_mask_mode", OptionSection.Method, "BAdam: adjacent or scatter choice of trainable entries (ratio mode).")]
    public BAdamMaskMode MaskMode { get; set; } = BAdamMaskMode.Adjacent;

    /// <summary>0 quiet, 1 prints the active block, 2 also the trainable parameters.</summary>
    [OptionKey("badam_verbose", OptionSection.Method, "BAdam: 0 quiet, 1 prints the active block, 2 also lists its parameters.")]
    [AtLeast(0), AtMost(2)]
    public int Verbose { get; set; }
}
