using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training.Recipes;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// The engine's <see cref="ITrainingRunner"/>: picks the recipe for the stage from a registry and runs it on a
/// background thread. Used by <c>llamaboard train</c> and by the board's job service.
/// </summary>
public sealed class TrainingRunner : ITrainingRunner
{
    static readonly Dictionary<TrainingStage, Func<ITrainingRecipe>> Recipes = new()
    {
        [TrainingStage.Pretrain] = CausalLmRecipe.Pretrain,
        [TrainingStage.Sft] = CausalLmRecipe.Sft,
        [TrainingStage.Reward] = () => new RewardRecipe(),
        [TrainingStage.Dpo] = () => new DpoRecipe(),
        [TrainingStage.Kto] = () => new KtoRecipe(),
        [TrainingStage.Ppo] = () => new PpoRecipe(),
    };

    /// <summary>Stages with a recipe, for the board and validation.</summary>
    public static IReadOnlyCollection<TrainingStage> SupportedStages => Recipes.Keys;

    /// <inheritdoc />
    public Task<TrainingResult> RunAsync(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stopRequested)
    {
        if (!Recipes.TryGetValue(options.Finetuning.Stage, out var create))
            throw new NotSupportedException(
                $"stage {options.Finetuning.Stage} has no recipe yet; this build trains: {string.Join(", ", Recipes.Keys)}.");
        return Task.Factory.StartNew(() => create().Run(options, progress, stopRequested), CancellationToken.None,
                                     TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }
}
