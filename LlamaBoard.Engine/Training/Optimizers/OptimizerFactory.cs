using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Engine.Training.Optimizers;

/// <summary>
/// Chooses the optimizer of a run from its options: AdamW/SGD with fp32 masters, GaLore (use_galore) or layer-wise
/// BAdam (use_badam, layer or ratio mode), with LLaMA-Factory's rules about which combinations it accepts.
/// </summary>
public static class OptimizerFactory
{
    /// <summary>The optimizer for <paramref name="trainable"/> as <paramref name="options"/> asks.</summary>
    /// <exception cref="ArgumentException">A setting that LlamaBoard does not offer, naming the key and the alternative.</exception>
    public static ITrainingOptimizer Create(TrainableModel trainable, LlamaBoardOptions options, Action<string>? log = null)
    {
        var training = options.Training;
        var finetuning = options.Finetuning;
        var settings = new OptimizerSettings(OptionSpelling.Of(training.Optim), training.LearningRate, training.WeightDecay,
                                             training.AdamBeta1, training.AdamBeta2, training.AdamEpsilon);
        var parameters = trainable.TrainableParameters(trainable.Method == FinetuningType.Lora ? finetuning.Lora.LoraPlusLrRatio : null);
        bool galore = finetuning.GaLore.UseGalore, badam = finetuning.BAdam.UseBadam;
        if ((galore || badam) && trainable.Method == FinetuningType.Lora)
            throw new ArgumentException($"{(galore ? "use_galore" : "use_badam")}: true cannot be combined with finetuning_type lora; use full or freeze.");
        if (galore && badam) throw new ArgumentException("use_badam: true cannot be combined with use_galore: true; choose one.");

        if (galore)
        {
            var options_ = finetuning.GaLore;
            if (options_.ProjType != GaloreProjectionType.Std)
                throw new ArgumentException($"galore_proj_type: {OptionSpelling.Of(options_.ProjType)} is not available; LlamaBoard implements GaLore's std projection (galore_proj_type: std).");
            if (options_.Layerwise && Math.Max(1, training.GradientAccumulationSteps) != 1)
                throw new ArgumentException("galore_layerwise: true does not support gradient_accumulation_steps > 1 (LLaMA-Factory refuses it too); set it to 1.");
            var targets = GaLoreTargets(trainable, options_.Target);
            if (targets.Count == 0)
                throw new ArgumentException($"galore_target: {string.Join(",", options_.Target)} matches no trainable linear weight of this model (for example q_proj, down_proj or all).");
            var galoreSettings = new GaLoreSettings(options_.Rank, options_.UpdateInterval, options_.Scale, targets, options_.Layerwise);
            log?.Invoke($"GaLore: rank {options_.Rank}, projector refreshed every {options_.UpdateInterval} steps, scale {options_.Scale}, " +
                        $"{targets.Count} projected weights{(options_.Layerwise ? ", layer-wise (no gradient clipping)" : "")}.");
            if (options_.Layerwise)
                log?.Invoke("galore_layerwise: updates are per parameter without clipping, as in LLaMA-Factory; TorchSharp has no per-parameter " +
                            "gradient hooks, so gradients of all layers still exist together before the update.");
            return new TrainingOptimizer(parameters, settings with { GaLore = galoreSettings });
        }

        if (badam)
        {
            var options_ = finetuning.BAdam;
            if (options_.Mode == BAdamMode.Ratio)
            {
                var ratioSettings = new BAdamRatioSettings(options_.UpdateRatio, options_.MaskMode == BAdamMaskMode.Scatter,
                                                           options_.SwitchInterval, training.Seed, options_.Verbose);
                var ratioOptimizer = new RatioBlockOptimizer(parameters, settings, ratioSettings, log);
                log?.Invoke($"BAdam (ratio): {options_.UpdateRatio:0.###} of each weight ({OptionSpelling.Of(options_.MaskMode)}), " +
                            $"{ratioOptimizer.ActiveElements:N0} entries train, drawn again every " +
                            $"{(options_.SwitchInterval < 0 ? "never" : options_.SwitchInterval + " steps")}.");
                return ratioOptimizer;
            }
            var mode = options_.SwitchMode switch
            {
                BAdamSwitchMode.Descending => BlockSwitchMode.Descending,
                BAdamSwitchMode.Random => BlockSwitchMode.Random,
                BAdamSwitchMode.Fixed => BlockSwitchMode.Fixed,
                _ => BlockSwitchMode.Ascending,
            };
            var badamSettings = new BAdamSettings(mode, options_.SwitchInterval, options_.StartBlock, training.Seed, options_.Verbose);
            var optimizer = new BlockOptimizer(parameters, settings, badamSettings, log);
            log?.Invoke($"BAdam: {optimizer.BlockCount} blocks, {OptionSpelling.Of(options_.SwitchMode)} order, switching every " +
                        $"{(options_.SwitchInterval < 0 ? "never" : options_.SwitchInterval + " steps")}, starting with block {optimizer.ActiveBlock}.");
            return optimizer;
        }
        return new TrainingOptimizer(parameters, settings);
    }

    /// <summary>
    /// The weights GaLore projects: the trainable 2-D weights of linear layers whose module name contains a target
    /// (LLaMA-Factory's substring rule); "all" means every linear layer but the output head.
    /// </summary>
    public static IReadOnlySet<string> GaLoreTargets(TrainableModel trainable, IReadOnlyList<string> targets)
    {
        bool all = targets.Count == 1 && targets[0].Equals("all", StringComparison.OrdinalIgnoreCase);
        var trainableNames = trainable.Model.NamedParameters().Where(p => p.Parameter.requires_grad && p.Parameter.dim() == 2)
                                      .Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        return trainable.Model.NamedProjections()
            .Where(p => all ? p.Name != "lm_head" : targets.Any(t => p.Name.Contains(t.Trim(), StringComparison.Ordinal)))
            .Select(p => p.Name + ".weight").Where(trainableNames.Contains).ToHashSet(StringComparer.Ordinal);
    }
}

/// <summary>The YAML spelling of an options enum value (its [OptionValue]).</summary>
internal static class OptionSpelling
{
    public static string Of(Enum value) =>
        value.GetType().GetField(value.ToString())?.GetCustomAttributes(typeof(OptionValueAttribute), false)
             .OfType<OptionValueAttribute>().FirstOrDefault()?.Spelling ?? value.ToString().ToLowerInvariant();
}
