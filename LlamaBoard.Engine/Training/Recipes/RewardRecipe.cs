using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
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
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop) =>
        LoopRecipe.Run(options, DataStage.Pairwise, progress, stop, run =>
        {
            // LLaMA-Factory continues a value head saved beside the last adapter (or the model) when there is one.
            var head = run.Model.AttachValueHead(from: options.Model.AdapterNameOrPath is { Count: > 0 } adapters ? adapters[^1] : run.ModelFolder);
            return new StageParts(new RewardObjective(run.Model.Model, head));
        });
}
