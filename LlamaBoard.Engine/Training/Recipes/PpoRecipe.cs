using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Training.Ppo;
using LlamaBoard.Engine.Training.Preference;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Recipes;

/// <summary>
/// Proximal policy optimisation (<c>stage: ppo</c>): prompt-only data, the trainable policy with a value head, the
/// reference (adapters off for LoRA), the reward model (<c>reward_model_type</c> lora, full or api), then
/// <see cref="PpoTrainer"/>.
/// </summary>
public sealed class PpoRecipe : ITrainingRecipe
{
    /// <inheritdoc />
    public TrainingStage Stage => TrainingStage.Ppo;

    /// <inheritdoc />
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        var device = RecipeSetup.Device(options);
        string modelFolder = RecipeSetup.ModelFolder(options, progress, stop);
        var data = RecipeSetup.Data(options, DataStage.Unsupervised, modelFolder, progress, stop);
        if (data.Eval.Count > 0)
            progress.Report(new TrainingLog(TrainingLogLevel.Warning, "stage ppo does not evaluate; the evaluation split is not used."));
        void Info(string line) => progress.Report(new TrainingLog(TrainingLogLevel.Info, line));
        using var model = TrainableModel.Load(options, modelFolder, device, Info);
        model.AttachValueHead(from: options.Model.AdapterNameOrPath is { Count: > 0 } adapters ? adapters[^1] : modelFolder);
        using var reference = ReferenceModel.Create(options, model, device);
        Info($"Reference model: {reference.Description}.");
        var reward = CreateReward(options, model, modelFolder, data.Tokenizer, device, Info);
        try
        {
            RecipeSetup.SaveArguments(options);
            return new PpoTrainer(model, reference, reward, data.Train, data.Tokenizer, options, device, progress).Run(stop);
        }
        finally
        {
            (reward as IDisposable)?.Dispose();
        }
    }

    /// <summary>The reward model of <paramref name="options"/>: a LoRA adapter sharing the policy's layers when it can, a full model, or a server.</summary>
    public static IRewardSource CreateReward(LlamaBoardOptions options, TrainableModel policy, string modelFolder, TemplateTokenizer tokenizer,
                                             Device device, Action<string> log)
    {
        var preference = options.Finetuning.Preference;
        string source = preference.RewardModel ?? throw new ArgumentException("reward_model is required for stage ppo; give the folder that stage rm saved.");
        if (preference.RewardModelQuantizationBit is not null)
            throw new NotSupportedException("reward_model_quantization_bit: quantized reward models are not supported yet; remove the key.");
        switch (preference.RewardModelType)
        {
            case RewardModelType.Api:
                if (!Uri.TryCreate(source, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    throw new ArgumentException($"reward_model: '{source}' is not an http(s) address; reward_model_type api needs the scoring server's full URL.");
                log($"Reward model: the scoring server {source}.");
                return new ApiReward(source, tokenizer.Tokenizer);
            case RewardModelType.Lora:
                if (!Directory.Exists(source))
                    throw new DirectoryNotFoundException($"reward_model: '{source}' is not a folder; train a reward adapter with stage: rm first.");
                var (shared, reason) = SharedLoraReward.TryCreate(policy.Model, source, policy.Adapter?.ModulesToSave);
                if (shared is not null)
                {
                    log($"Reward model: the adapter {source}, swapped into the policy's LoRA layers for scoring.");
                    return shared;
                }
                log($"Reward model: the adapter {source} cannot share the policy's LoRA layers ({reason}); loading it merged into a separate copy of {modelFolder}.");
                return RewardScorer.Load(source, options.ComputeDType, device, baseModel: modelFolder);
            default:
                var scorer = RewardScorer.Load(source, options.ComputeDType, device, adapters: preference.RewardModelAdapters);
                log($"Reward model: {scorer.Description}.");
                return scorer;
        }
    }
}
