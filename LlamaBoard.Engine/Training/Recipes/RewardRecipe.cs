using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Training.Preference;

namespace LlamaBoard.Engine.Training.Recipes;

/// <summary>
/// Reward modelling (<c>stage: rm</c>): pairwise data, the decoder (LoRA, freeze or full) plus a value head, the
/// pairwise loss on the last token's score. The adapter or model is saved with <c>value_head.safetensors</c>
/// beside it, the layout PPO (<c>reward_model</c>) and the API's scoring endpoint read.
/// </summary>
public sealed class RewardRecipe : ITrainingRecipe
{
    /// <inheritdoc />
    public TrainingStage Stage => TrainingStage.Reward;

    /// <inheritdoc />
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        var device = RecipeSetup.Device(options);
        string modelFolder = RecipeSetup.ModelFolder(options, progress, stop);
        var data = RecipeSetup.Data(options, DataStage.Pairwise, modelFolder, progress, stop);
        using var model = TrainableModel.Load(options, modelFolder, device, line => progress.Report(new TrainingLog(TrainingLogLevel.Info, line)));
        // LLaMA-Factory continues a value head saved beside the last adapter (or the model) when there is one.
        var head = model.AttachValueHead(from: options.Model.AdapterNameOrPath is { Count: > 0 } adapters ? adapters[^1] : modelFolder);
        var collator = data.CreateCollator(PaddingSide.Right);
        RecipeSetup.SaveArguments(options);
        var loop = new TrainingLoop(model, data.Train, data.Eval, collator, new RewardObjective(model.Model, head), options, device, progress);
        return loop.Run(stop);
    }
}
